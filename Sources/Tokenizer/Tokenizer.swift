// The Tokenizer module; see ../../../shared/DESIGN.md.
