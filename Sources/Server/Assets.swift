import Foundation
import Hummingbird

/// Every file the pages load, served by the server itself: nothing comes from other hosts.
enum Assets {
    static func add(to router: Router<BasicRequestContext>) {
        router.get("/assets/app.css") { _, _ in asset(css, type: "text/css") }
        router.get("/assets/app.js") { _, _ in asset(script, type: "text/javascript") }
        router.get("/assets/console.js") { _, _ in asset(consoleScript, type: "text/javascript") }
        router.get("/assets/xterm.js") { _, _ in
            guard let bundle = XtermBundle.bundle else {
                throw ServerError(status: .notFound, message: "xterm.js is not installed: apt-get install node-xterm (scripts/install-deps.sh does)")
            }
            return asset(bundle, type: "text/javascript")
        }
        router.get("/assets/xterm.css") { _, _ in
            guard let css = XtermBundle.css else { throw ServerError.notFound("xterm.css: apt-get install node-xterm") }
            return asset(css, type: "text/css")
        }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type + "; charset=utf-8", .cacheControl: "max-age=300"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static let css = """
    :root { --ok: #1f8a4c; --bad: #c0392b; --off: #8a8f98; --boot: #d68910; --ink: #1d2330; --line: #d9dde3; --bg: #f6f7f9; --accent: #2457c5; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
    header { display: flex; align-items: center; gap: 1.5em; padding: .6em 1.5em; background: var(--ink); color: #fff; }
    header a { color: #fff; text-decoration: none; }
    header .brand { font-weight: 700; letter-spacing: .02em; }
    header .who { margin-left: auto; opacity: .85; }
    header form { display: inline; }
    header button { background: none; border: 1px solid #fff6; color: #fff; border-radius: 4px; padding: .2em .7em; cursor: pointer; }
    main { padding: 1.2em 1.5em 3em; max-width: 1400px; }
    h1 { font-size: 1.5em; margin: .2em 0 .6em; }
    h2 { font-size: 1.15em; margin: 1.4em 0 .5em; }
    a { color: var(--accent); }
    #timeline tr.milestone td { font-weight: 700; background: #fff4d6; }
    #timeline tr.outside td:nth-child(5) { color: var(--bad); }
    table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
    th, td { text-align: left; padding: .35em .7em; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { background: #eef0f3; font-weight: 600; }
    code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
    .pill { display: inline-block; padding: 0 .55em; border-radius: 9px; font-size: 12px; color: #fff; background: var(--off); }
    .healthy { background: var(--ok); } .unhealthy { background: var(--bad); } .booting { background: var(--boot); } .absent, .shutoff { background: var(--off); }
    .succeeded { background: var(--ok); } .failed, .interrupted { background: var(--bad); } .running, .queued { background: var(--boot); }
    svg.bar { vertical-align: middle; } svg.bar rect { fill: #e3e6ea; } svg.bar rect.healthy { fill: var(--ok); } svg.bar rect.unhealthy { fill: var(--bad); }
    .actions { display: flex; gap: .6em; flex-wrap: wrap; align-items: center; margin: .8em 0; }
    .actions form { display: flex; gap: .4em; align-items: center; }
    button, .button { font: inherit; padding: .35em .9em; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
    button.danger { background: var(--bad); border-color: var(--bad); }
    button.quiet { background: #fff; color: var(--accent); }
    textarea { width: 100%; min-height: 16em; font-family: ui-monospace, monospace; font-size: 12.5px; }
    input[type=text], input[type=password], input[type=number] { font: inherit; padding: .3em .5em; border: 1px solid var(--line); border-radius: 4px; }
    .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1em 1.2em; margin: 1em 0; }
    .error { color: var(--bad); } .warning { color: var(--boot); }
    .diagnostics li { margin: .2em 0; }
    .source { background: #fff; border: 1px solid var(--line); padding: .5em 0; overflow-x: auto; }
    .source div { white-space: pre; padding: 0 .8em; }
    .source div.marked { background: #fdecea; }
    .source span.n { display: inline-block; width: 3.5em; color: var(--off); user-select: none; }
    #events { max-height: 22em; overflow-y: auto; background: #111722; color: #dfe6ee; padding: .6em .9em; border-radius: 6px; }
    #events div.step-failed, #events div.unhealthy, #events div.error { color: #ff8d80; }
    #events div.healthy { color: #8fe3a9; }
    #events div.restarting { color: #ffd27f; }
    svg.topology { background: #fff; border: 1px solid var(--line); border-radius: 6px; max-width: 100%; height: auto; }
    svg.topology .net { fill: #eef3fb; stroke: #9db3dc; }
    svg.topology text { font: 11px system-ui, sans-serif; fill: var(--ink); }
    svg.topology .host rect { stroke: #0002; }
    svg.topology .host.healthy rect { fill: var(--ok); } svg.topology .host.unhealthy rect { fill: var(--bad); }
    svg.topology .host.booting rect { fill: var(--boot); } svg.topology .host.absent rect, svg.topology .host.shutoff rect { fill: var(--off); }
    svg.topology .host text { fill: #fff; font-size: 10px; }
    svg.topology line { stroke: #51627d; stroke-width: 3; }
    svg.topology .host.gateway rect { stroke: #1d2330; stroke-width: 2; }
    svg.topology .host.acting rect { stroke: #f5b301; stroke-width: 4; } svg.topology .host.acting.outward rect { stroke: var(--bad); }
    form.run label { margin-right: 1.2em; } form.run select, form.run input[type=text] { font: inherit; padding: .25em .4em; }
    .links li { margin: .3em 0; }
    #terminal { background: #000; padding: .4em; border-radius: 6px; min-height: 26em; }
    .muted { color: var(--off); }
    .login { max-width: 22em; margin: 4em auto; }
    .login label { display: block; margin: .7em 0 .2em; }
    .login input { width: 100%; }
    """

    /// Confirmations, live job events (Server-Sent Events) and the file picker of the upload form.
    static let script = """
    "use strict";
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    var picker = document.getElementById("topology-file");
    if (picker) picker.addEventListener("change", function () {
      var file = picker.files[0]; if (!file) return;
      file.text().then(function (text) { document.getElementById("topology-text").value = text; });
    });
    function setHealth(domain, health) {
      document.querySelectorAll('[data-domain="' + domain + '"]').forEach(function (node) {
        node.classList.remove("healthy", "unhealthy", "booting", "absent", "shutoff");
        node.classList.add(health);
        if (node.classList.contains("pill")) node.textContent = health;
      });
    }
    var live = document.getElementById("events");
    if (live && live.dataset.job) {
      var source = new EventSource("/api/v1/jobs/" + live.dataset.job + "/events");
      var add = function (kind, text) {
        var line = document.createElement("div"); line.className = kind; line.textContent = text;
        live.appendChild(line); live.scrollTop = live.scrollHeight;
      };
      ["info", "error", "plan", "step-done", "step-failed", "step-skipped", "boot-started", "healthy", "restarting", "unhealthy"].forEach(function (kind) {
        source.addEventListener(kind, function (message) {
          var view = JSON.parse(message.data), event = view.event;
          add(kind, event.message);
          if (event.domain && kind === "boot-started") setHealth(event.domain, "booting");
          if (event.domain && kind === "healthy") setHealth(event.domain, "healthy");
          if (event.domain && kind === "unhealthy") setHealth(event.domain, "unhealthy");
        });
      });
      source.addEventListener("end", function (message) {
        var job = JSON.parse(message.data);
        add(job.state === "succeeded" ? "healthy" : "error", "job " + job.state + (job.error ? ": " + job.error : ""));
        source.close();
        var state = document.getElementById("job-state");
        if (state) { state.textContent = job.state; state.className = "pill " + job.state; }
        document.body.dataset.jobDone = job.state;
        if (live.dataset.reload) setTimeout(function () { window.location.replace(live.dataset.reload); }, 800);
      });
    }
    // In a function of its own: a global `name` would be the window's name, a string.
    (function () {
      var timeline = document.getElementById("timeline");
      if (!timeline || !timeline.dataset.environment) return;
      var body = timeline.querySelector("tbody");
      var name = function (end) { return !end ? "-" : (end.host ? end.host + " (" + end.address + ")" : end.address); };
      // The hosts of the picture lit as they act: for a few seconds after each event of theirs.
      var light = function (host, outside) {
        document.querySelectorAll('#topology [data-host="' + host + '"]').forEach(function (node) {
          node.classList.add("acting"); if (outside) node.classList.add("outward");
          node.dataset.acted = String((Number(node.dataset.acted) || 0) + 1);
          clearTimeout(node.actingTimer);
          node.actingTimer = setTimeout(function () { node.classList.remove("acting", "outward"); }, 4000);
        });
      };
      var stream = new EventSource("/api/v1/environments/" + timeline.dataset.environment + "/events?follow=true&limit=0");
      ["dns", "flow", "http", "smb-auth", "kerberos", "ldap-bind", "smtp", "milestone", "file"].forEach(function (kind) {
        stream.addEventListener(kind, function (message) {
          var event = JSON.parse(message.data), row = document.createElement("tr");
          row.className = kind + (event.outside ? " outside" : "");
          var detail = event.detail, what = Object.keys(detail).map(function (key) { return key + " " + JSON.stringify(detail[key]); }).join(", ");
          [event.time, event.network || "", kind, kind === "milestone" ? "" : name(event.src), kind === "milestone" ? "" : name(event.dst),
           kind === "milestone" ? detail.name : what].forEach(function (text, index) {
            var cell = document.createElement("td"); cell.textContent = text; if (index === 0) cell.className = "mono"; row.appendChild(cell);
          });
          body.appendChild(row);
          if (kind !== "milestone") [event.src, event.dst].forEach(function (end) { if (end && end.host) light(end.host, event.outside); });
        });
      });
    })();
    """

    /// The console page: xterm.js on a WebSocket to the host's serial console.
    static let consoleScript = """
    "use strict";
    (function () {
      var box = document.getElementById("terminal");
      var term = new Terminal({ cols: 100, rows: 30, convertEol: false, cursorBlink: true, rendererType: "dom" });
      term.open(box);
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + window.location.host + box.dataset.socket);
      socket.binaryType = "arraybuffer";
      var status = document.getElementById("console-state");
      socket.onopen = function () { status.textContent = "connected"; status.className = "pill healthy"; term.focus(); };
      socket.onclose = function () { status.textContent = "closed"; status.className = "pill absent"; };
      socket.onmessage = function (message) {
        var text = typeof message.data === "string" ? message.data : new TextDecoder().decode(new Uint8Array(message.data));
        term.write(text);
        box.dataset.received = String((Number(box.dataset.received) || 0) + text.length);
      };
      term.on("data", function (data) { if (socket.readyState === 1) socket.send(new TextEncoder().encode(data)); });
    })();
    """
}

/// xterm.js from Debian's node-xterm, which ships it as CommonJS modules: joined into one script
/// for the browser with a small module loader, once, when first asked for.
enum XtermBundle {
    static let folder = "/usr/share/nodejs/xterm/lib"

    static let bundle: String? = {
        guard let files = FileManager.default.enumerator(atPath: folder) else { return nil }
        var modules: [String] = []
        for case let path as String in files where path.hasSuffix(".js") && !path.hasSuffix(".test.js") && !path.hasPrefix("addons") {
            guard let source = try? String(contentsOfFile: folder + "/" + path, encoding: .utf8) else { continue }
            let name = String(path.dropLast(3))
            modules.append("define(\(JSON.string(name)), function (require, module, exports) {\n\(source)\n});")
        }
        guard !modules.isEmpty else { return nil }
        return """
        (function () {
        "use strict";
        var factories = {}, cache = {};
        function define(name, factory) { factories[name] = factory; }
        function resolve(from, request) {
          var parts = from.split("/"); parts.pop();
          request.split("/").forEach(function (part) { if (part === "..") parts.pop(); else if (part !== ".") parts.push(part); });
          var name = parts.join("/");
          return factories[name] ? name : name + "/index";
        }
        function load(name) {
          if (cache[name]) return cache[name].exports;
          var module = { exports: {} }; cache[name] = module;
          factories[name](function (request) { return load(resolve(name, request)); }, module, module.exports);
          return module.exports;
        }
        \(modules.sorted().joined(separator: "\n"))
        window.Terminal = load("xterm");
        })();
        """
    }()

    static let css: String? = try? String(contentsOfFile: folder + "/xterm.css", encoding: .utf8)
}
