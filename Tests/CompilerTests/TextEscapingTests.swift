@testable import Compiler
import Foundation
import Testing

@Suite struct TextEscapingTests {
    @Test func escapesEveryListedCharacterAndKeepsTheRest() {
        let html = ASCIIEscaper(["&": "&amp;", "<": "&lt;", ">": "&gt;"])
        #expect(html("R&D <Ünïcode> ok") == "R&amp;D &lt;Ünïcode&gt; ok")
        #expect(html("plain é") == "plain é")
        #expect(html("") == "")
        #expect(html("&") == "&amp;")
        let yaml = ASCIIEscaper(["\\": "\\\\", "\"": "\\\"", "\n": " "])
        let sample = "a\\b\"c\nd🙂"
        #expect(yaml(sample) == sample.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: " "))
        #expect(ASCIIEscaper(["'": ""])("it's Bob's") == "its Bobs")
    }
}
