/// Chinese captions for Fashion-MNIST images: the class name with a tone read from the pixels (the mean grey
/// level of the item's pixels, the non-background ones) in one of several sentence templates.
public enum FashionCaptions {
    /// 深色 / 灰色 / 浅色 by the item's mean grey level as displayed (0 black … 255 white).
    public static func tone(of pixels: ArraySlice<UInt8>) -> String {
        var sum = 0, count = 0
        for value in pixels where value > 16 {
            sum += Int(value)
            count += 1
        }
        let mean = count == 0 ? 0 : Double(sum) / Double(count)
        if mean < 100 { return "深色" }
        if mean < 150 { return "灰色" }
        return "浅色"
    }

    /// The templates: {m} measure word, {t} tone, {c} class name.
    public static let templates = [
        "一{m}{t}的{c}", "{t}{c}的照片", "一张{c}的照片", "这是一{m}{c}", "{c}，{t}", "图中是一{m}{t}的{c}",
    ]

    /// Caption of class `label` with `tone` in template `template` (an index into `templates`).
    public static func caption(label: Int, tone: String, template: Int) -> String {
        let item = FashionMNIST.classes[label]
        return templates[template % templates.count].replacingOccurrences(of: "{m}", with: item.measure)
            .replacingOccurrences(of: "{t}", with: tone).replacingOccurrences(of: "{c}", with: item.name)
    }

    /// The validation query for a class and tone (the first template), shared by all images that fit it.
    public static func query(label: Int, tone: String) -> String { caption(label: label, tone: tone, template: 0) }
}
