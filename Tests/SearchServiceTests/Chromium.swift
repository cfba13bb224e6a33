import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Debian's headless Chromium driven over the DevTools protocol through `--remote-debugging-pipe` (commands on the
/// browser's fd 3, replies on fd 4, each JSON message ended by a NUL byte): real key and mouse events on a page.
final class Chromium {
    private let process = Process()
    private let commands = Pipe()
    private let replies = Pipe()
    private var buffer = Data()
    private var nextID = 0
    private var session: String?

    /// Starts the browser; fails with a clear message when `chromium` is not installed (Makefile APT_PACKAGES has it).
    init(width: Int = 1200, height: Int = 900) throws {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure("chromium is not installed (looked for \(candidates)); install Debian's 'chromium' (make deps does)")
        }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("cnclip-chromium-\(UUID().uuidString)")
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec \(binary) --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars "
            + "--user-data-dir=\(profile.path) --window-size=\(width),\(height) --remote-debugging-pipe about:blank "
            + "3<&0 4>&1 0</dev/null 1>/dev/null"]
        process.standardInput = commands
        process.standardOutput = replies
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit { close() }

    func close() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Sends a command (to the attached page once `open` has run) and returns its `result`.
    @discardableResult
    func send(_ method: String, _ params: [String: Any] = [:], timeout: Double = 30) throws -> [String: Any] {
        nextID += 1
        var message: [String: Any] = ["id": nextID, "method": method, "params": params]
        if let session, !method.hasPrefix("Target.") { message["sessionId"] = session }
        var data = try JSONSerialization.data(withJSONObject: message)
        data.append(0)
        try commands.fileHandleForWriting.write(contentsOf: data)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            while let end = buffer.firstIndex(of: 0) {
                let line = buffer[buffer.startIndex..<end]
                buffer = Data(buffer[(end + 1)...])
                guard let reply = try JSONSerialization.jsonObject(with: line) as? [String: Any],
                      reply["id"] as? Int == nextID else { continue }
                if let error = reply["error"] { throw Failure("\(method) failed: \(error)") }
                return reply["result"] as? [String: Any] ?? [:]
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Failure("chromium did not answer \(method) within \(timeout) s") }
            var descriptor = pollfd(fd: replies.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, Int32(remaining * 1000)) > 0 {
                let chunk = replies.fileHandleForReading.availableData
                guard !chunk.isEmpty else { throw Failure("chromium exited while waiting for \(method)") }
                buffer.append(chunk)
            }
        }
    }

    /// Opens `url` in a new page and attaches to it.
    func open(_ url: String) throws {
        let target = try send("Target.createTarget", ["url": url])
        let attached = try send("Target.attachToTarget", ["targetId": target["targetId"] as Any, "flatten": true])
        session = attached["sessionId"] as? String
        try send("Page.enable")
        try send("Runtime.enable")
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    func evaluate(_ expression: String) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Failure("page script failed: \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Polls `expression` until it is true (script errors while the page loads count as not yet).
    func wait(for expression: String, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: (any Error)?
        while Date() < deadline {
            do {
                if try evaluate(expression) as? Bool == true { return }
            } catch let error as Failure where error.description.hasPrefix("page script failed") {
                lastError = error
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Failure("timed out after \(timeout) s waiting for \(expression)\(lastError.map { " (last: \($0))" } ?? "")")
    }

    /// Types `text` into the focused element, as a keyboard would (IME-style insertion), then presses Enter.
    func type(_ text: String, pressEnter: Bool) throws {
        try send("Input.insertText", ["text": text])
        if pressEnter {
            for type in ["keyDown", "keyUp"] {
                try send("Input.dispatchKeyEvent", ["type": type, "key": "Enter", "code": "Enter",
                                                    "windowsVirtualKeyCode": 13, "text": type == "keyDown" ? "\r" : ""])
            }
        }
    }

    /// A left click at the centre of the element `selector` selects.
    func click(_ selector: String) throws {
        guard let box = try evaluate("""
            (() => { const e = document.querySelector(\(Self.quoted(selector))); e.scrollIntoView({block: 'center'});
                     const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()
            """) as? [NSNumber], box.count == 2 else { throw Failure("no element \(selector) to click") }
        for type in ["mouseMoved", "mousePressed", "mouseReleased"] {
            try send("Input.dispatchMouseEvent", ["type": type, "x": box[0].doubleValue, "y": box[1].doubleValue,
                                                  "button": "left", "clickCount": 1])
        }
    }

    /// A PNG of the page as shown.
    func screenshot() throws -> Data {
        let result = try send("Page.captureScreenshot", ["format": "png"])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw Failure("no screenshot data")
        }
        return data
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }
}
