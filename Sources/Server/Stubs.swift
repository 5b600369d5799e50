import HTTPTypes
import Hummingbird
import HummingbirdWebSocket

enum OpenAPIDocument { static let json = "{}" }
struct ConsoleSocket: Sendable { let state: ServerState
  func upgrade(_ request: HTTPRequest) async throws -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> { .dontUpgrade } }
enum Pages { static func add(to router: Router<BasicRequestContext>, state: ServerState) {} }
