import Mustache

/// The pages' Mustache templates. `layout` wraps every page; `{{{body}}}` is the page rendered first.
enum Templates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in sources {
            // The templates are part of the binary: one that does not parse is a bug caught by the tests.
            try! library.register(text, named: name)
        }
        return library
    }()

    static let sources: [String: String] = [
        "layout": """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · DecoyNet</title><link rel="stylesheet" href="/assets/app.css">{{#xterm}}<link rel="stylesheet" href="/assets/xterm.css">{{/xterm}}</head>
        <body>
        <header><a class="brand" href="/">DecoyNet</a>{{#user}}<a href="/environments">Environments</a><a href="/jobs">Jobs</a>
        <span class="who">{{name}} ({{role}})</span><form method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button>Sign out</button></form>{{/user}}</header>
        <main>{{{body}}}</main>
        <script src="/assets/app.js"></script>{{#xterm}}<script src="/assets/xterm.js"></script><script src="/assets/console.js"></script>{{/xterm}}
        </body></html>
        """,
        "login": """
        <div class="login card"><h1>Sign in</h1>
        {{#problem}}<p class="error">{{problem}}</p>{{/problem}}
        <form method="post" action="/login"><input type="hidden" name="token" value="{{token}}">
        <label for="name">User</label><input type="text" id="name" name="name" value="{{name}}" autocomplete="username" autofocus>
        <label for="password">Password or API token</label><input type="password" id="password" name="password" autocomplete="current-password">
        <p><button id="sign-in">Sign in</button></p></form>
        <p class="muted">On its first start the server wrote the admin's token to <code>admin.token</code> in its data folder.</p></div>
        """,
        "link": """
        <div class="login card"><h1>Your copy</h1>
        <p>This link signs you in and opens the copy of the lab your instructor made for you. It works once.</p>
        <form method="post" action="/s/{{token}}"><p><button id="continue">Open my copy</button></p></form></div>
        """,
        "environments": """
        <h1>Environments</h1>
        {{^environments}}<p class="muted">No environments yet{{#manage}}: add a topology below{{/manage}}.</p>{{/environments}}
        <table id="environment-list"><thead><tr><th>Environment</th><th>Description</th><th>Copy of</th><th>Student</th><th>Hosts</th><th>Health</th><th>Deployed</th></tr></thead><tbody>
        {{#environments}}<tr><td><a href="/environments/{{name}}">{{name}}</a></td><td>{{description}}</td><td>{{copyOf}}</td><td>{{student}}</td>
        <td>{{hosts}}</td><td>{{{bar}}} {{healthy}} healthy{{#unhealthy}}, {{unhealthy}} unhealthy{{/unhealthy}}{{#absent}}, {{absent}} absent{{/absent}}</td><td>{{#deployed}}yes{{/deployed}}{{^deployed}}no{{/deployed}}</td></tr>{{/environments}}
        </tbody></table>
        {{#manage}}<h2>Add or update a topology</h2>
        <form method="post" action="/environments" class="card"><input type="hidden" name="csrf" value="{{csrf}}">
        <p>Paste a topology, or pick a file: <input type="file" id="topology-file" accept=".yaml,.yml"></p>
        <textarea name="topology" id="topology-text" spellcheck="false">{{topology}}</textarea>
        <p><button id="upload">Validate and save</button></p></form>
        {{#hasDiagnostics}}<div class="card" id="diagnostics"><h2>The topology has {{errors}} errors</h2><ul class="diagnostics">
        {{#diagnostics}}<li class="{{severity}}"><a href="#line-{{line}}">line {{line}}, column {{column}}</a>: {{severity}}: {{message}} <span class="muted">[{{id}}]</span></li>{{/diagnostics}}</ul>
        <div class="source">{{#lines}}<div id="line-{{number}}" class="{{#marked}}marked{{/marked}}"><span class="n">{{number}}</span>{{text}}</div>{{/lines}}</div></div>{{/hasDiagnostics}}{{/manage}}
        """,
        "environment": """
        <h1>{{name}} {{#copyOf}}<span class="muted">copy of {{copyOf}}{{#student}}, for {{student}}{{/student}}</span>{{/copyOf}}</h1>
        <p>{{description}}</p>
        <p><span class="pill healthy" id="healthy-count">{{healthy}} healthy</span> <span class="pill unhealthy">{{unhealthy}} unhealthy</span> <span class="pill absent">{{absent}} not running</span>
        <span class="muted">of {{hosts}} hosts{{#checkedAt}}, seen {{checkedAt}}{{/checkedAt}}</span></p>
        <div class="actions">
        <form method="post" action="/environments/{{name}}/apply" data-confirm="Apply {{name}}: create or update every network and host?"><input type="hidden" name="csrf" value="{{csrf}}"><button id="apply">Apply</button></form>
        <form method="post" action="/environments/{{name}}/reset" data-confirm="Reset every host of {{name}} to its clean state?"><input type="hidden" name="csrf" value="{{csrf}}">
        <label><input type="checkbox" name="evidence" value="on" checked> keep evidence</label><button id="reset" class="quiet">Reset</button></form>
        <form method="post" action="/environments/{{name}}/test" data-confirm="Run the operation tests of {{name}}?"><input type="hidden" name="csrf" value="{{csrf}}"><button id="test" class="quiet">Test</button></form>
        {{#manage}}<form method="post" action="/environments/{{name}}/destroy" data-confirm="Destroy {{name}}: remove every host, disk and network?"><input type="hidden" name="csrf" value="{{csrf}}"><button id="destroy" class="danger">Destroy</button></form>
        {{^copyOf}}<a class="button quiet" href="/environments/{{name}}/classroom">Classroom copies</a>{{/copyOf}}{{/manage}}
        <a class="button quiet" href="/environments/{{name}}/evidence">Evidence</a>
        <a class="button quiet" href="/environments/{{name}}/timeline">Timeline</a>
        </div>
        {{#job}}<div class="card"><h2>Job {{kind}} <span id="job-state" class="pill {{state}}">{{state}}</span></h2><div id="events" data-job="{{id}}" data-reload="/environments/{{name}}"></div></div>{{/job}}
        <h2>Topology</h2>
        {{{picture}}}
        <h2>Hosts</h2>
        <table id="hosts"><thead><tr><th>Host</th><th>Addresses</th><th>Networks</th><th>State</th><th>Health</th><th>Probes</th><th>Owner</th><th></th></tr></thead><tbody>
        {{#hostList}}<tr id="host-{{name}}"><td><a href="/environments/{{environment}}/hosts/{{name}}">{{name}}</a></td><td class="mono">{{#addresses}}{{.}} {{/addresses}}</td><td>{{#networks}}{{.}} {{/networks}}</td><td>{{state}}</td>
        <td><span class="pill {{health}}" data-domain="{{domain}}">{{health}}</span></td>
        <td>{{#probes}}<span class="{{^passed}}error{{/passed}}" title="{{detail}}">{{probe}}{{#passed}} ✓{{/passed}}{{^passed}} ✗{{/passed}}</span> {{/probes}}</td><td>{{owner}}</td>
        <td><a href="/environments/{{environment}}/hosts/{{name}}/console">console</a></td></tr>{{/hostList}}
        </tbody></table>
        {{#hasChecks}}<h2>Operation tests</h2><ul>{{#checks}}<li>{{label}}</li>{{/checks}}</ul>{{/hasChecks}}
        {{#hasJobs}}<h2>Recent jobs</h2><table><thead><tr><th>Job</th><th>State</th><th>Started</th><th>Seconds</th></tr></thead><tbody>
        {{#jobs}}<tr><td><a href="/jobs/{{id}}">{{kind}}</a></td><td><span class="pill {{state}}">{{state}}</span></td><td>{{createdAt}}</td><td>{{seconds}}</td></tr>{{/jobs}}</tbody></table>{{/hasJobs}}
        """,
        "classroom": """
        <h1>Classroom copies of {{name}}</h1>
        <p>Each copy is its own environment in its own addresses, for one student, who sees only theirs.</p>
        {{#hasLinks}}<div class="card"><h2>Links for the students</h2><p>Hand each student their link; it signs them in. The links are shown only now.</p>
        <ul class="links" id="student-links">{{#links}}<li><b>{{student}}</b> ({{environment}}): <a href="{{link}}">{{link}}</a></li>{{/links}}</ul>
        {{#job}}<p>Building the copies: <a href="/jobs/{{id}}">job {{id}}</a></p>{{/job}}</div>{{/hasLinks}}
        <form method="post" action="/environments/{{name}}/classroom" class="card" data-confirm="Make these copies and build them?"><input type="hidden" name="csrf" value="{{csrf}}">
        <p><label>Copies <input type="number" name="count" id="count" min="1" max="200" value="3"></label></p>
        <p><label>Student names, one per line (optional)<br><textarea name="students" id="students" style="min-height:6em"></textarea></label></p>
        <p><button id="make-copies">Make copies</button></p></form>
        {{#hasCopies}}<h2>Copies</h2><table><thead><tr><th>Copy</th><th>Student</th><th>Health</th></tr></thead><tbody>
        {{#copies}}<tr><td><a href="/environments/{{name}}">{{name}}</a></td><td>{{student}}</td><td>{{healthy}}/{{hosts}} healthy</td></tr>{{/copies}}</tbody></table>{{/hasCopies}}
        """,
        "timeline": """
        <h1>Timeline of <a href="/environments/{{name}}">{{name}}</a></h1>
        <p>What happened on its networks, seen from outside its hosts: decoded from every network's packets, live.</p>
        {{^watched}}<p class="muted">{{name}} is not watched: its topology needs an internet host or <code>observe: true</code>.</p>{{/watched}}
        {{#job}}<div class="card"><h2>Run <span id="job-state" class="pill {{state}}">{{state}}</span></h2><div id="events" data-job="{{id}}" data-reload="/environments/{{name}}/timeline"></div></div>{{/job}}
        {{{picture}}}
        <h2>Runs</h2>
        {{^runs}}<p class="muted">None yet: start one below, with <code>decoynet run {{name}} --sample FILE --to USER --open</code>, or POST /api/v1/environments/{{name}}/runs.</p>{{/runs}}
        <table id="runs"><thead><tr><th>Run</th><th>Sample</th><th>Delivered to</th><th>Milestones</th><th>Ended by</th><th>Files</th></tr></thead><tbody>
        {{#runs}}<tr><td class="mono">{{id}}</td><td>{{sample}}</td><td>{{deliveredTo}}</td><td>{{milestones}}</td><td><span class="pill">{{endedBy}}</span></td>
        <td><a href="/api/v1/runs/{{id}}">run.json</a> · <a href="/api/v1/runs/{{id}}/timeline">timeline</a> · <a href="/api/v1/runs/{{id}}/stix">STIX</a></td></tr>{{/runs}}
        </tbody></table>
        {{#watched}}<form method="post" action="/environments/{{name}}/runs" enctype="multipart/form-data" class="card run" id="run-form"
         data-confirm="Mail this sample into {{name}} and let it run?"><input type="hidden" name="csrf" value="{{csrf}}">
        <h2>Start a run</h2>
        <p><label>Sample (64 MiB at most) <input type="file" name="sample" id="sample" required></label></p>
        <p><label>Mail it to <select name="to" id="to">{{#people}}<option value="{{user}}">{{name}} ({{user}}){{^opens}}, no PC{{/opens}}</option>{{/people}}</select></label>
        <label>Subject <input type="text" name="subject" id="subject" placeholder="Invoice"></label>
        <label><input type="checkbox" name="open" id="open" value="true" checked> open it on their PC</label></p>
        <p><label>Until <select name="until" id="until"><option value="c2">it calls home (c2)</option><option value="lateral">it moves to another host</option>
        <option value="quiet:5m">5 minutes without an event</option><option value="">the time is up</option></select></label>
        <label>At most <input type="text" name="for" id="for" value="30m" size="6"></label>
        <label>Then <select name="then" id="then"><option value="reset">reset the PC, keeping its evidence</option><option value="keep">keep it running</option></select></label></p>
        <p><button id="start-run" class="danger">Start the run</button></p></form>{{/watched}}
        <h2>Events</h2>
        <table id="timeline" data-environment="{{name}}"><thead><tr><th>Time</th><th>Network</th><th>Kind</th><th>From</th><th>To</th><th>What</th></tr></thead><tbody>
        {{#events}}<tr class="{{kind}}{{#outside}} outside{{/outside}}"><td class="mono">{{time}}</td><td>{{network}}</td><td>{{kind}}</td><td>{{src}}</td><td>{{dst}}</td><td>{{what}}</td></tr>{{/events}}
        </tbody></table>
        """,
        "evidence": """
        <h1>Evidence of {{name}}</h1>
        <p>Each reset with evidence keeps a dated folder: every host's overlay, console log, definition and leases, with a manifest and SHA256SUMS.</p>
        <p id="evidence-quota" class="muted">Space kept: {{#quota}}{{.}}; {{/quota}}a reset whose evidence, or a snapshot, would pass a quota is refused before anything stops.</p>
        {{^folders}}<p class="muted">None yet: reset with “keep evidence”.</p>{{/folders}}
        <ul>{{#folders}}<li><a href="/environments/{{environment}}/evidence/{{name}}">{{name}}</a> <span class="muted">{{size}}</span>
        {{#manage}}<form class="inline" method="post" action="/environments/{{environment}}/evidence/{{name}}/remove" data-confirm="Remove the evidence {{name}} for good?"><input type="hidden" name="csrf" value="{{csrf}}"><button class="danger">Remove</button></form>{{/manage}}</li>{{/folders}}</ul>
        {{#hasSnapshots}}<h2>Snapshots</h2>{{/hasSnapshots}}
        <ul id="snapshots">{{#snapshots}}<li><a href="/environments/{{environment}}/hosts/{{host}}">{{host}}</a> {{taken}} <span class="muted">{{size}}</span>
        {{#manage}}<form class="inline" method="post" action="/environments/{{environment}}/snapshots/{{name}}/remove" data-confirm="Remove the snapshot {{name}} for good?"><input type="hidden" name="csrf" value="{{csrf}}"><button class="danger">Remove</button></form>{{/manage}}</li>{{/snapshots}}</ul>
        """,
        "evidence-folder": """
        <h1>Evidence {{folder}}</h1>
        <p>Topology digest <code>{{manifest.topologyDigest}}</code>, made {{manifest.created}} by {{manifest.tool}}. {{verified}} of {{total}} files verify against SHA256SUMS.</p>
        <p><a href="/api/v1/environments/{{name}}/evidence/{{folder}}/file?path=manifest.json">manifest.json</a> · <a href="/api/v1/environments/{{name}}/evidence/{{folder}}/file?path=SHA256SUMS">SHA256SUMS</a></p>
        <table id="evidence-files"><thead><tr><th>File</th><th>Bytes</th><th>SHA-256</th><th>Verified</th></tr></thead><tbody>
        {{#files}}<tr><td><a href="/api/v1/environments/{{name}}/evidence/{{folder}}/file?path={{path}}">{{path}}</a></td><td>{{bytes}}</td><td class="mono">{{sha256}}</td>
        <td>{{#verified}}<span class="pill healthy">verified</span>{{/verified}}{{^verified}}<span class="pill unhealthy">MISMATCH</span>{{/verified}}</td></tr>{{/files}}</tbody></table>
        """,
        "console": """
        <h1>Console of {{host}} <span class="muted">in {{name}}</span> <span id="console-state" class="pill booting">connecting</span></h1>
        <p class="muted">The host's serial console, as <code>decoynet console</code> shows it. Press Enter for a prompt.</p>
        <div id="terminal" data-socket="/api/v1/environments/{{name}}/hosts/{{host}}/console"></div>
        """,
        "host": """
        <h1>{{host}} <span class="muted">in <a href="/environments/{{name}}">{{name}}</a></span></h1>
        <p class="muted">Seen from outside the host: its memory and disk at one moment, read on this machine. Nothing runs inside it.</p>
        <div class="actions">
        <form method="post" action="/environments/{{name}}/snapshot" data-confirm="Take a snapshot of {{host}}? It runs on, stopped for a fraction of a second."><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="host" value="{{host}}"><button id="snapshot">Take a snapshot</button></form>
        <a class="button quiet" href="/environments/{{name}}/hosts/{{host}}/console">Console</a>
        </div>
        {{#job}}<div class="card"><h2>Job {{kind}} <span id="job-state" class="pill {{state}}">{{state}}</span></h2><div id="events" data-job="{{id}}" data-reload="/environments/{{name}}/hosts/{{host}}"></div></div>{{/job}}
        <h2>Snapshots</h2>
        {{^snapshots}}<p class="muted">None yet.</p>{{/snapshots}}
        <table id="snapshots"><thead><tr><th>Taken</th><th>Paused</th><th>Memory</th><th>Read</th></tr></thead><tbody>
        {{#snapshots}}<tr><td class="mono">{{taken}}</td><td>{{paused}} ms</td><td>{{memory}}</td>
        <td>{{#views}}<a href="/environments/{{name}}/hosts/{{host}}?snapshot={{folder}}&amp;view={{view}}">{{view}}</a> {{/views}}</td></tr>{{/snapshots}}</tbody></table>
        {{#hasEvidence}}<h2>Kept by resets</h2><table id="kept"><thead><tr><th>Evidence</th><th>Read</th></tr></thead><tbody>
        {{#evidence}}<tr><td><a href="/environments/{{name}}/evidence/{{folder}}">{{folder}}</a></td>
        <td>{{#views}}<a href="/environments/{{name}}/hosts/{{host}}?evidence={{folder}}&amp;view={{view}}">{{view}}</a> {{/views}}</td></tr>{{/evidence}}</tbody></table>{{/hasEvidence}}
        {{#reading}}<h2>{{view}} <span class="muted">of {{source}}</span></h2>
        {{#problem}}<p class="error">{{problem}}</p>{{/problem}}
        <p class="muted">{{count}} rows · <a href="{{api}}">JSON</a></p>
        <table id="forensics"><thead><tr>{{#columns}}<th>{{.}}</th>{{/columns}}</tr></thead><tbody>
        {{#rows}}<tr>{{#cells}}<td class="mono">{{.}}</td>{{/cells}}</tr>{{/rows}}</tbody></table>{{/reading}}
        """,
        "jobs": """
        <h1>Jobs</h1>
        <table id="jobs"><thead><tr><th>Job</th><th>Environment</th><th>State</th><th>Created</th><th>Seconds</th><th>Error</th></tr></thead><tbody>
        {{#jobs}}<tr><td><a href="/jobs/{{id}}">{{kind}}</a></td><td><a href="/environments/{{environment}}">{{environment}}</a></td><td><span class="pill {{state}}">{{state}}</span></td>
        <td>{{createdAt}}</td><td>{{seconds}}</td><td>{{error}}</td></tr>{{/jobs}}</tbody></table>
        """,
        "job": """
        <h1>Job {{kind}} of <a href="/environments/{{environment}}">{{environment}}</a> <span id="job-state" class="pill {{state}}">{{state}}</span></h1>
        <p class="muted">{{id}} · created {{createdAt}}{{#seconds}} · {{seconds}} s{{/seconds}}</p>
        {{#error}}<p class="error">{{error}}</p>{{/error}}
        <div id="events" data-job="{{id}}"></div>
        """,
        "message": """
        <h1>{{title}}</h1><p>{{message}}</p><p><a href="/environments">Environments</a></p>
        """,
    ]
}
