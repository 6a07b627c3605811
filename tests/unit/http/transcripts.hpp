// Opening handshakes as real clients send them (captured against a local
// server, keys replaced by fixed ones), plus a curl health check. Written with
// "\n"; pass through test::crlf() for the wire form.
#pragma once

#include <string_view>

namespace ringcast::http::test {

// Chromium 120: Connection before Upgrade, extensions last.
inline constexpr std::string_view kChrome = R"(GET /chat?room=lobby HTTP/1.1
Host: example.com:8000
Connection: Upgrade
Pragma: no-cache
Cache-Control: no-cache
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36
Upgrade: websocket
Origin: http://example.com:8000
Sec-WebSocket-Version: 13
Accept-Encoding: gzip, deflate, br
Accept-Language: en-US,en;q=0.9
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits

)";

// Firefox 121: "Connection: keep-alive, Upgrade" and a subprotocol list.
inline constexpr std::string_view kFirefox = R"(GET /chat HTTP/1.1
Host: localhost:8080
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0
Accept: */*
Accept-Language: en-US,en;q=0.5
Accept-Encoding: gzip, deflate, br
Sec-WebSocket-Version: 13
Origin: http://localhost:8080
Sec-WebSocket-Protocol: chat, superchat
Sec-WebSocket-Extensions: permessage-deflate
Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==
Connection: keep-alive, Upgrade
Sec-Fetch-Dest: empty
Sec-Fetch-Mode: websocket
Sec-Fetch-Site: same-origin
Pragma: no-cache
Cache-Control: no-cache
Upgrade: websocket

)";

// python3-websockets 10.4 (Debian 12).
inline constexpr std::string_view kPythonWebsockets = R"(GET /echo HTTP/1.1
Host: localhost:8765
Upgrade: websocket
Connection: Upgrade
Sec-WebSocket-Key: +jMX9ntrhnAT4NPjOGs9Ag==
Sec-WebSocket-Version: 13
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits
User-Agent: Python/3.11 websockets/10.4

)";

// node ws 8: Host last.
inline constexpr std::string_view kNodeWs = R"(GET /echo HTTP/1.1
Sec-WebSocket-Version: 13
Sec-WebSocket-Key: oWRqwEjlJkrqHotmjDC7LA==
Connection: Upgrade
Upgrade: websocket
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits
Host: localhost:9001

)";

// curl 7.88 against the health endpoint.
inline constexpr std::string_view kCurlHealthz = R"(GET /healthz HTTP/1.1
Host: localhost:8080
User-Agent: curl/7.88.1
Accept: */*

)";

}  // namespace ringcast::http::test
