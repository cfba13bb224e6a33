import Foundation
import Models
import XCTest

/// The four Hub models' architectures (OFA-Sys/chinese-clip-vit-{base-patch16, large-patch14,
/// large-patch14-336px, huge-patch14}) in transformers' config.json form translate to the reference's registry
/// configs, and our own config.json translates back to the same config.
final class HubConfigTests: XCTestCase {
    private func hubConfig(vision: (hidden: Int, layers: Int, heads: Int, patch: Int, image: Int),
                           text: (hidden: Int, layers: Int, heads: Int), projection: Int) throws -> Data {
        let object: [String: Any] = [
            "model_type": "chinese_clip", "projection_dim": projection, "architectures": ["ChineseCLIPModel"],
            "text_config": ["vocab_size": 21128, "hidden_size": text.hidden, "num_hidden_layers": text.layers,
                            "num_attention_heads": text.heads, "intermediate_size": 4 * text.hidden,
                            "model_type": "chinese_clip_text_model"],
            "vision_config": ["hidden_size": vision.hidden, "intermediate_size": 4 * vision.hidden,
                              "num_hidden_layers": vision.layers, "num_attention_heads": vision.heads,
                              "patch_size": vision.patch, "image_size": vision.image, "projection_dim": projection,
                              "model_type": "chinese_clip_vision_model"],
        ]
        return try JSONSerialization.data(withJSONObject: object)
    }

    func testHubArchitecturesTranslateToTheRegistryConfigs() throws {
        let cases: [(String, String, Data)] = [
            ("ViT-B-16", "RoBERTa-wwm-ext-base-chinese",
             try hubConfig(vision: (768, 12, 12, 16, 224), text: (768, 12, 12), projection: 512)),
            ("ViT-L-14", "RoBERTa-wwm-ext-base-chinese",
             try hubConfig(vision: (1024, 24, 16, 14, 224), text: (768, 12, 12), projection: 768)),
            ("ViT-L-14-336", "RoBERTa-wwm-ext-base-chinese",
             try hubConfig(vision: (1024, 24, 16, 14, 336), text: (768, 12, 12), projection: 768)),
            ("ViT-H-14", "RoBERTa-wwm-ext-large-chinese",
             try hubConfig(vision: (1280, 32, 16, 14, 224), text: (1024, 24, 16), projection: 1024)),
        ]
        for (vision, text, json) in cases {
            let registry = try ModelRegistry.config(vision: vision, text: text)
            XCTAssertEqual(try HFModelConfig.modelConfig(json: json, path: "config.json"), registry, vision)
            let written = try JSONSerialization.data(withJSONObject: HFModelConfig.json(for: registry))
            XCTAssertEqual(try HFModelConfig.modelConfig(json: written, path: "written"), registry, vision)
        }
    }

    func testHubPreprocessorSquashesLikeTheReference() throws {
        let json = Data("""
            {"crop_size": 224, "do_center_crop": false, "do_normalize": true, "do_resize": true,
             "feature_extractor_type": "ChineseCLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
             "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": {"height": 224, "width": 224}}
            """.utf8)
        let settings = try HFPreprocessorConfig.settings(json: json, path: "preprocessor_config.json")
        XCTAssertEqual(settings.resize, .exact(height: 224, width: 224))
        XCTAssertNil(settings.centerCrop)
        XCTAssertThrowsError(try HFPreprocessorConfig.settings(json: Data(#"{"resample": 2}"#.utf8), path: "p.json")) {
            XCTAssertTrue("\($0)".contains("p.json") && "\($0)".contains("bicubic"), "\($0)")
        }
    }
}
