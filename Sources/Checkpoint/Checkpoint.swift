// The Checkpoint module; see ../../../shared/DESIGN.md.
