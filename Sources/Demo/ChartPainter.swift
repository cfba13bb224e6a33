import CCairo
import Foundation

/// Draws one chart panel (frame, grid, ticks with labels, axis titles, title, curves, legend) on a cairo context
/// with the toy text API and a sans-serif face.
struct ChartPainter {
    let context: OpaquePointer

    func fill(x: Double, y: Double, width: Double, height: Double, grey: Double) {
        cairo_set_source_rgb(context, grey, grey, grey)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    /// Draws `panel` in the cell at (`x`, `y`) of size `width`×`height`, steps across on `steps`.
    func drawPanel(_ panel: TrainingCurvesChart.Panel, steps: ChartAxis, x: Double, y: Double, width: Double,
                   height: Double) {
        let scale = min(width / 600, height / 400) * 1.0 + 0.4
        let font = 11 * scale
        let left = x + 78 * scale, right = x + width - 16 * scale
        let top = y + 34 * scale, bottom = y + height - 44 * scale
        text(panel.title, x: (left + right) / 2, y: y + 20 * scale, size: font * 1.3, bold: true, align: 0.5)
        let drawn = panel.curves.filter { !$0.points.isEmpty }
        let values = drawn.flatMap { $0.points.map(\.value) }
        frame(left: left, top: top, right: right, bottom: bottom)
        text("global step", x: (left + right) / 2, y: bottom + 36 * scale, size: font, align: 0.5)
        verticalText(panel.yTitle, x: x + 16 * scale, y: (top + bottom) / 2, size: font)
        func px(_ step: Double) -> Double { left + (right - left) * steps.fraction(step) }
        for tick in steps.ticks {
            line(px(tick), bottom, px(tick), bottom + 5 * scale, grey: 0.2, width: 1)
            line(px(tick), top, px(tick), bottom, grey: 0.9, width: 1)
            text(steps.label(tick), x: px(tick), y: bottom + 18 * scale, size: font, align: 0.5)
        }
        guard let low = values.min(), let high = values.max() else {
            text("not in this log", x: (left + right) / 2, y: (top + bottom) / 2, size: font * 1.2, align: 0.5)
            return
        }
        let pad = (high - low) * 0.06
        let axis = ChartAxis(low: low >= 0 ? max(low - pad, 0) : low - pad, high: high + pad)
        func py(_ value: Double) -> Double { bottom - (bottom - top) * axis.fraction(value) }
        for tick in axis.ticks {
            line(left - 5 * scale, py(tick), left, py(tick), grey: 0.2, width: 1)
            line(left, py(tick), right, py(tick), grey: 0.9, width: 1)
            text(axis.label(tick), x: left - 8 * scale, y: py(tick) + font * 0.35, size: font, align: 1)
        }
        frame(left: left, top: top, right: right, bottom: bottom)
        for curve in drawn {
            cairo_set_source_rgb(context, curve.colour.0, curve.colour.1, curve.colour.2)
            cairo_set_line_width(context, 1.6 * scale)
            cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
            for (index, point) in curve.points.enumerated() {
                let (cx, cy) = (px(Double(point.step)), py(point.value))
                if index == 0 { cairo_move_to(context, cx, cy) } else { cairo_line_to(context, cx, cy) }
            }
            cairo_stroke(context)
            if curve.dots {
                for point in curve.points {
                    cairo_arc(context, px(Double(point.step)), py(point.value), 3.2 * scale, 0, 2 * Double.pi)
                    cairo_fill(context)
                }
            }
        }
        let traced = drawn.flatMap { curve in
            zip(curve.points, curve.points.dropFirst()).flatMap { a, b in
                (0..<16).map { t -> (Double, Double) in
                    let f = Double(t) / 16
                    return (px(Double(a.step) + f * Double(b.step - a.step)), py(a.value + f * (b.value - a.value)))
                }
            } + curve.points.suffix(1).map { (px(Double($0.step)), py($0.value)) }
        }
        legend(drawn, within: (left + 8 * scale, top + 8 * scale, right - 8 * scale, bottom - 8 * scale),
               avoiding: traced, size: font)
    }

    /// Draws the legend in the corner of `within` (left, top, right, bottom) that covers fewest of the `avoiding`
    /// points of the curves.
    private func legend(_ curves: [TrainingCurvesChart.Curve], within area: (Double, Double, Double, Double),
                        avoiding points: [(Double, Double)], size: Double) {
        let widest = curves.map { textWidth($0.name, size: size) }.max() ?? 0
        let row = size * 1.5, sample = size * 2
        let boxWidth = widest + sample + size * 1.6, boxHeight = row * Double(curves.count) + size * 0.6
        let corners = [(area.2 - boxWidth, area.1), (area.0, area.1), (area.2 - boxWidth, area.3 - boxHeight),
                       (area.0, area.3 - boxHeight)]
        func covered(_ corner: (Double, Double)) -> Int {
            points.filter { $0.0 >= corner.0 - 4 && $0.0 <= corner.0 + boxWidth + 4
                && $0.1 >= corner.1 - 4 && $0.1 <= corner.1 + boxHeight + 4 }.count
        }
        let (left, top) = corners.min { covered($0) < covered($1) } ?? corners[0]
        cairo_set_source_rgba(context, 1, 1, 1, 0.85)
        cairo_rectangle(context, left, top, boxWidth, boxHeight)
        cairo_fill_preserve(context)
        cairo_set_source_rgb(context, 0.6, 0.6, 0.6)
        cairo_set_line_width(context, 1)
        cairo_stroke(context)
        for (index, curve) in curves.enumerated() {
            let middle = top + size * 0.3 + row * (Double(index) + 0.5)
            cairo_set_source_rgb(context, curve.colour.0, curve.colour.1, curve.colour.2)
            cairo_set_line_width(context, 2)
            cairo_move_to(context, left + size * 0.5, middle)
            cairo_line_to(context, left + size * 0.5 + sample, middle)
            cairo_stroke(context)
            if curve.dots {
                cairo_arc(context, left + size * 0.5 + sample / 2, middle, 3, 0, 2 * Double.pi)
                cairo_fill(context)
            }
            text(curve.name, x: left + size + sample, y: middle + size * 0.35, size: size, align: 0)
        }
    }

    private func frame(left: Double, top: Double, right: Double, bottom: Double) {
        cairo_set_source_rgb(context, 0.2, 0.2, 0.2)
        cairo_set_line_width(context, 1)
        cairo_rectangle(context, left, top, right - left, bottom - top)
        cairo_stroke(context)
    }

    private func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, grey: Double, width: Double) {
        cairo_set_source_rgb(context, grey, grey, grey)
        cairo_set_line_width(context, width)
        cairo_move_to(context, x0, y0)
        cairo_line_to(context, x1, y1)
        cairo_stroke(context)
    }

    private func setFont(size: Double, bold: Bool) {
        cairo_select_font_face(context, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
    }

    private func textWidth(_ string: String, size: Double) -> Double {
        setFont(size: size, bold: false)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, string, &extents)
        return extents.x_advance
    }

    /// Draws `string` with its baseline at `y`; `align` 0 puts its left end at `x`, 0.5 its middle, 1 its right end.
    private func text(_ string: String, x: Double, y: Double, size: Double, bold: Bool = false, align: Double) {
        setFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, string, &extents)
        cairo_set_source_rgb(context, 0.1, 0.1, 0.1)
        cairo_move_to(context, x - extents.x_advance * align, y)
        cairo_show_text(context, string)
    }

    private func verticalText(_ string: String, x: Double, y: Double, size: Double) {
        cairo_save(context)
        cairo_translate(context, x, y)
        cairo_rotate(context, -Double.pi / 2)
        text(string, x: 0, y: size * 0.35, size: size, align: 0.5)
        cairo_restore(context)
    }
}
