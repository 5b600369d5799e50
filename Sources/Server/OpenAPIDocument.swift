import Engine

/// The API as an OpenAPI 3.0 document, served at `/api/v1/openapi.json`. The tests call every
/// path it lists and check each answer against the schema it gives.
enum OpenAPIDocument {
    static let json: String = {
        let kinds = OperationEvent.Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        let states = JobState.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        let roles = Role.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        return template.replacingOccurrences(of: "EVENT_KINDS", with: kinds).replacingOccurrences(of: "JOB_STATES", with: states)
            .replacingOccurrences(of: "ROLES", with: roles)
    }()

    private static let template = #"""
    {
      "openapi": "3.0.3",
      "info": {
        "title": "DecoyNet",
        "version": "1",
        "description": "Environments of decoy networks on libvirt: upload a topology, apply, reset with evidence, test, destroy, copies for students. Every change is a job whose events stream live. Sign in with 'Authorization: Bearer TOKEN'; the admin's token is in admin.token in the server's data folder."
      },
      "servers": [{ "url": "/" }],
      "security": [{ "bearer": [] }],
      "paths": {
        "/healthz": { "get": { "summary": "Whether the server answers", "security": [], "responses": {
          "200": { "description": "It does", "content": { "application/json": { "schema": { "type": "object", "required": ["status"], "properties": { "status": { "type": "string", "enum": ["ok"] } } } } } } } } },
        "/metrics": { "get": { "summary": "Prometheus metrics: environments, hosts by state, jobs and their durations", "security": [], "responses": {
          "200": { "description": "Prometheus text format", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
        "/api/v1/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": { "description": "OpenAPI 3", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
        "/api/v1/me": { "get": { "summary": "Who the token belongs to", "responses": {
          "200": { "description": "The caller", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/User" } } } },
          "401": { "$ref": "#/components/responses/Unauthorized" } } } },
        "/api/v1/users": {
          "get": { "summary": "Every user (admin)", "responses": {
            "200": { "description": "Users", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/User" } } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "403": { "$ref": "#/components/responses/Forbidden" } } },
          "post": { "summary": "Make a user and their first token (admin)", "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewUser" } } } },
            "responses": {
              "201": { "description": "The user, and their token (shown once)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewUserAnswer" } } } },
              "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" },
              "403": { "$ref": "#/components/responses/Forbidden" }, "409": { "$ref": "#/components/responses/Conflict" } } } },
        "/api/v1/validate": { "post": { "summary": "Check a topology as a deploy would, without keeping it (20 at once per user, then one a second)",
          "requestBody": { "required": true, "content": { "application/yaml": { "schema": { "type": "string" } } } },
          "responses": {
            "200": { "description": "Its diagnostics", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Validation" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "413": { "$ref": "#/components/responses/TooLarge" },
            "429": { "$ref": "#/components/responses/TooMany" } } } },
        "/api/v1/environments": {
          "get": { "summary": "Environments the caller may see, with host counts by health", "responses": {
            "200": { "description": "Environments", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Environment" } } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" } } },
          "post": { "summary": "Add a topology, or a new version of one (admin, instructor); images must be in the image store",
            "requestBody": { "required": true, "content": { "application/yaml": { "schema": { "type": "string" } } } },
            "responses": {
              "200": { "description": "Updated", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Environment" } } } },
              "201": { "description": "Added", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Environment" } } } },
              "401": { "$ref": "#/components/responses/Unauthorized" }, "403": { "$ref": "#/components/responses/Forbidden" },
              "409": { "$ref": "#/components/responses/Conflict" }, "413": { "$ref": "#/components/responses/TooLarge" },
              "422": { "description": "The topology has errors, each at its line", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } } } },
        "/api/v1/environments/{name}": {
          "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "get": { "summary": "An environment: networks, hosts with addresses, probes and health, operation tests, recent jobs", "responses": {
            "200": { "description": "The environment", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EnvironmentDetail" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } },
          "delete": { "summary": "Forget an environment and its copies, once destroyed (admin, instructor)", "responses": {
            "204": { "description": "Forgotten" }, "401": { "$ref": "#/components/responses/Unauthorized" }, "403": { "$ref": "#/components/responses/Forbidden" },
            "404": { "$ref": "#/components/responses/NotFound" }, "409": { "$ref": "#/components/responses/Conflict" } } } },
        "/api/v1/environments/{name}/topology": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "get": { "summary": "The topology as uploaded", "responses": {
            "200": { "description": "YAML", "content": { "application/yaml": { "schema": { "type": "string" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/status": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "get": { "summary": "Hosts and their latest health (refreshed in the background every few seconds)", "responses": {
            "200": { "description": "Status", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Status" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/apply": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "post": { "summary": "Create or update every network and host, then start them until healthy: restored from their image's warm template, or booted with {\"cold\": true} (a job)",
                    "requestBody": { "required": false, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ResetRequest" } } } },
                    "responses": { "$ref_job": "" } } },
        "/api/v1/environments/{name}/destroy": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "post": { "summary": "Remove every host, disk and network (a job; admin, instructor)", "responses": { "$ref_job": "" } } },
        "/api/v1/environments/{name}/reset": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "post": { "summary": "Return hosts to their clean state, with evidence when asked (a job); refused with 507 when the evidence would pass a quota",
            "requestBody": { "required": false, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ResetRequest" } } } },
            "responses": { "$ref_job_quota": "" } } },
        "/api/v1/environments/{name}/test": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "post": { "summary": "Probes and operation tests from inside the hosts (a job)", "responses": { "$ref_job": "" } } },
        "/api/v1/environments/{name}/copies": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "post": { "summary": "Copies ENV-i1 ... ENV-iN, one per student, and a job that builds them (admin, instructor)",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CopiesRequest" } } } },
            "responses": {
              "201": { "description": "A link per student (shown once) and the job", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CopiesAnswer" } } } },
              "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" },
              "403": { "$ref": "#/components/responses/Forbidden" }, "404": { "$ref": "#/components/responses/NotFound" }, "409": { "$ref": "#/components/responses/Conflict" } } } },
        "/api/v1/environments/{name}/link": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "post": { "summary": "A new link for a copy's student; their earlier links and sessions end (admin, instructor)", "responses": {
            "201": { "description": "The link, shown once", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CopyAnswer" } } } },
            "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" },
            "403": { "$ref": "#/components/responses/Forbidden" }, "404": { "$ref": "#/components/responses/NotFound" } } },
          "delete": { "summary": "Revoke a copy's student links and end their sessions (admin, instructor)", "responses": {
            "204": { "description": "Revoked" }, "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" },
            "403": { "$ref": "#/components/responses/Forbidden" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/evidence": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "get": { "summary": "Evidence folders kept by resets, newest first", "responses": {
            "200": { "description": "Folders", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/EvidenceSummary" } } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/quota": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "get": { "summary": "The environment's evidence and snapshots, and its owner's, against the server's quotas, and its retention", "responses": {
            "200": { "description": "Usage", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EvidenceUsage" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/evidence/{folder}": { "parameters": [{ "$ref": "#/components/parameters/Name" }, { "$ref": "#/components/parameters/Folder" }],
          "delete": { "summary": "Remove an evidence folder for good (admin, instructor)", "responses": {
            "204": { "description": "Removed" }, "401": { "$ref": "#/components/responses/Unauthorized" },
            "403": { "$ref": "#/components/responses/Forbidden" }, "404": { "$ref": "#/components/responses/NotFound" } } },
          "get": { "summary": "A folder's manifest, and every file checked against SHA256SUMS (hashed again when it changed since the server last hashed it)", "responses": {
            "200": { "description": "The folder", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EvidenceDetail" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" },
            "429": { "description": "Too many of the user's downloads or verifications under way (Retry-After)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } } } },
        "/api/v1/environments/{name}/evidence/{folder}/file": { "parameters": [{ "$ref": "#/components/parameters/Name" }, { "$ref": "#/components/parameters/Folder" },
            { "name": "path", "in": "query", "required": true, "description": "A path listed in the folder's SHA256SUMS, or manifest.json, or SHA256SUMS", "schema": { "type": "string" } },
            { "name": "Range", "in": "header", "required": false, "description": "One byte range (bytes=A-B, bytes=A-, bytes=-N): that part only, to go on with a download", "schema": { "type": "string" } }],
          "get": { "summary": "Download one file of the folder, streamed from disk (a user has 4 downloads or verifications under way at most)", "responses": {
            "200": { "description": "The file", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
            "206": { "description": "The range asked for (Content-Range says which)", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
            "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" },
            "416": { "description": "The range starts past the file's end (Content-Range: bytes */SIZE)" },
            "429": { "description": "Too many of the user's downloads under way (Retry-After)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } } } },
        "/api/v1/environments/{name}/snapshot": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "post": { "summary": "Memory and disk of running hosts at one moment, each host paused briefly and running on (a job)",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ResetRequest" } } } },
            "responses": { "$ref_job_quota": "" } } },
        "/api/v1/environments/{name}/snapshots": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "get": { "summary": "Snapshots taken through the server, newest first", "responses": {
            "200": { "description": "Snapshots", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/SnapshotSummary" } } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/snapshots/{folder}": { "parameters": [{ "$ref": "#/components/parameters/Name" }, { "$ref": "#/components/parameters/Folder" }],
          "delete": { "summary": "Remove a snapshot for good (admin, instructor)", "responses": {
            "204": { "description": "Removed" }, "401": { "$ref": "#/components/responses/Unauthorized" },
            "403": { "$ref": "#/components/responses/Forbidden" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/snapshots/{folder}/forensics/{view}": { "parameters": [{ "$ref": "#/components/parameters/Name" }, { "$ref": "#/components/parameters/Folder" },
            { "$ref": "#/components/parameters/View" }],
          "get": { "summary": "A snapshot read from outside: processes, connections, modules (memory) or files (disk against its base image)", "responses": {
            "200": { "description": "Rows, as decoynet forensics --json", "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" },
            "422": { "description": "The evidence cannot be read so (no memory kept, no symbol table for its kernel)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } } } },
        "/api/v1/environments/{name}/evidence/{folder}/hosts/{host}/forensics/{view}": { "parameters": [{ "$ref": "#/components/parameters/Name" }, { "$ref": "#/components/parameters/Folder" },
            { "name": "host", "in": "path", "required": true, "schema": { "type": "string" } }, { "$ref": "#/components/parameters/View" }],
          "get": { "summary": "A host of a reset's evidence read from outside, as a snapshot is", "responses": {
            "200": { "description": "Rows, as decoynet forensics --json", "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" },
            "422": { "description": "The evidence cannot be read so (no memory kept, no symbol table for its kernel)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } } } },
        "/api/v1/environments/{name}/hosts/{host}/console": { "parameters": [{ "$ref": "#/components/parameters/Name" },
            { "name": "host", "in": "path", "required": true, "schema": { "type": "string" } }],
          "get": { "summary": "The host's serial console as a WebSocket (send 'Upgrade: websocket'): guest output in binary frames, keystrokes back",
            "responses": { "101": { "description": "Switching to the WebSocket protocol" } } } },
        "/api/v1/jobs": { "get": { "summary": "The latest jobs the caller may see", "responses": {
          "200": { "description": "Jobs, newest first", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Job" } } } } },
          "401": { "$ref": "#/components/responses/Unauthorized" } } } },
        "/api/v1/jobs/{id}": { "parameters": [{ "$ref": "#/components/parameters/JobID" }],
          "get": { "summary": "A job: state, timings, outcome", "responses": {
            "200": { "description": "The job", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/events": { "parameters": [{ "$ref": "#/components/parameters/Name" },
            { "name": "kind", "in": "query", "required": false, "description": "Only events of these kinds (repeatable, or comma-separated)", "schema": { "type": "string" } },
            { "name": "host", "in": "query", "required": false, "description": "Only events to or from these hosts (repeatable, or comma-separated)", "schema": { "type": "string" } },
            { "name": "limit", "in": "query", "required": false, "description": "The newest this many (1000 unless given, 10000 at most)", "schema": { "type": "integer" } },
            { "name": "follow", "in": "query", "required": false, "description": "true: Server-Sent Events, those kept then each new one as it comes (also with 'Accept: text/event-stream')", "schema": { "type": "string" } }],
          "get": { "summary": "The environment's timeline: what happened on its networks, seen from outside its hosts", "responses": {
            "200": { "description": "Events in time order", "content": {
              "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/TimelineEvent" } } },
              "text/event-stream": { "schema": { "type": "string" } } } },
            "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/environments/{name}/runs": { "parameters": [{ "$ref": "#/components/parameters/Name" }],
          "get": { "summary": "The environment's infection runs, newest first", "responses": {
            "200": { "description": "Runs", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/RunSummary" } } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } },
          "post": { "summary": "An infection run (a job): the sample mailed to a person ('to') or placed on a host ('on'), opened ('open'), watched until 'until' or 'for', then 'keep' or 'reset'",
            "requestBody": { "required": true, "content": { "multipart/form-data": { "schema": { "type": "object", "required": ["sample"], "properties": {
              "sample": { "type": "string", "format": "binary" }, "to": { "type": "string" }, "on": { "type": "string" }, "subject": { "type": "string" },
              "open": { "type": "string", "enum": ["true", "false"] }, "until": { "type": "string", "description": "c2, lateral or quiet:DURATION" },
              "for": { "type": "string", "description": "30m unless given" }, "then": { "type": "string", "enum": ["keep", "reset"] } } } } } },
            "responses": {
              "202": { "$ref": "#/components/responses/Job" },
              "400": { "$ref": "#/components/responses/BadRequest" }, "401": { "$ref": "#/components/responses/Unauthorized" },
              "404": { "$ref": "#/components/responses/NotFound" }, "413": { "$ref": "#/components/responses/TooLarge" },
              "422": { "$ref": "#/components/responses/Unprocessable" } } } },
        "/api/v1/runs/{id}": { "parameters": [{ "$ref": "#/components/parameters/RunID" }],
          "get": { "summary": "A run's record (run.json)", "responses": {
            "200": { "description": "The run", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Run" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/runs/{id}/timeline": { "parameters": [{ "$ref": "#/components/parameters/RunID" }],
          "get": { "summary": "A run's timeline, one JSON event a line, with its milestones", "responses": {
            "200": { "description": "JSON lines", "content": { "application/x-ndjson": { "schema": { "type": "string" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/runs/{id}/stix": { "parameters": [{ "$ref": "#/components/parameters/RunID" }],
          "get": { "summary": "A run's STIX 2.1 bundle: the sample, every outside name, address and URL it contacted", "responses": {
            "200": { "description": "The bundle", "content": { "application/json": { "schema": { "type": "object", "required": ["type", "id", "objects"], "properties": {
              "type": { "type": "string", "enum": ["bundle"] }, "id": { "type": "string" }, "objects": { "type": "array", "items": { "type": "object" } } } } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } },
        "/api/v1/jobs/{id}/events": { "parameters": [{ "$ref": "#/components/parameters/JobID" },
            { "name": "after", "in": "query", "required": false, "description": "Only events after this sequence number", "schema": { "type": "integer" } }],
          "get": { "summary": "A job's events; with 'Accept: text/event-stream', Server-Sent Events live until the job ends (then an 'end' event with the job)", "responses": {
            "200": { "description": "Events", "content": {
              "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } } },
              "text/event-stream": { "schema": { "type": "string" } } } },
            "401": { "$ref": "#/components/responses/Unauthorized" }, "404": { "$ref": "#/components/responses/NotFound" } } } }
      },
      "components": {
        "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        "parameters": {
          "Name": { "name": "name", "in": "path", "required": true, "schema": { "type": "string" } },
          "Folder": { "name": "folder", "in": "path", "required": true, "schema": { "type": "string" } },
          "View": { "name": "view", "in": "path", "required": true, "schema": { "type": "string", "enum": ["processes", "connections", "modules", "files"] } },
          "JobID": { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
          "RunID": { "name": "id", "in": "path", "required": true, "description": "As decoynet run names runs: 20261201T100000Z-1a2b", "schema": { "type": "string" } }
        },
        "responses": {
          "BadRequest": { "description": "The request is not one this call takes", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "Unauthorized": { "description": "No valid token or session", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "Forbidden": { "description": "The caller's role may not do this", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "NotFound": { "description": "No such object the caller may see", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "Conflict": { "description": "In conflict with what exists", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "TooLarge": { "description": "Beyond the size limit", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "TooMany": { "description": "Too many at once from this user: the message says when to try again", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "Unprocessable": { "description": "The stored topology no longer validates", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "Job": { "description": "The job, queued", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } } }
        },
        "schemas": {
          "Error": { "type": "object", "required": ["error"], "properties": {
            "error": { "type": "string" }, "diagnostics": { "type": "array", "items": { "$ref": "#/components/schemas/Diagnostic" } } } },
          "User": { "type": "object", "required": ["id", "name", "role"], "properties": {
            "id": { "type": "integer" }, "name": { "type": "string" }, "role": { "type": "string", "enum": [ROLES] } } },
          "NewUser": { "type": "object", "required": ["name", "role"], "properties": {
            "name": { "type": "string" }, "role": { "type": "string", "enum": [ROLES] }, "password": { "type": "string", "minLength": 8 } } },
          "NewUserAnswer": { "type": "object", "required": ["user", "token"], "properties": {
            "user": { "$ref": "#/components/schemas/User" }, "token": { "type": "string" } } },
          "Diagnostic": { "type": "object", "required": ["severity", "id", "message", "line", "column", "rendered"], "properties": {
            "severity": { "type": "string", "enum": ["error", "warning", "note"] }, "id": { "type": "string" }, "message": { "type": "string" },
            "line": { "type": "integer" }, "column": { "type": "integer" }, "rendered": { "type": "string" } } },
          "Validation": { "type": "object", "required": ["valid", "diagnostics"], "properties": {
            "valid": { "type": "boolean" }, "environment": { "type": "string" }, "diagnostics": { "type": "array", "items": { "$ref": "#/components/schemas/Diagnostic" } } } },
          "Environment": { "type": "object", "required": ["name", "deployed", "hosts", "healthy", "unhealthy", "absent", "copies"], "properties": {
            "name": { "type": "string" }, "description": { "type": "string" }, "copyOf": { "type": "string" }, "student": { "type": "string" },
            "deployed": { "type": "boolean" }, "hosts": { "type": "integer" }, "healthy": { "type": "integer" }, "unhealthy": { "type": "integer" },
            "absent": { "type": "integer" }, "checkedAt": { "type": "string", "format": "date-time" }, "copies": { "type": "array", "items": { "type": "string" } } } },
          "Probe": { "type": "object", "required": ["probe", "passed", "detail"], "properties": {
            "probe": { "type": "string" }, "passed": { "type": "boolean" }, "detail": { "type": "string" } } },
          "Host": { "type": "object", "required": ["name", "domain", "networks", "addresses", "services", "state", "health", "probes"], "properties": {
            "name": { "type": "string" }, "domain": { "type": "string" }, "template": { "type": "string" },
            "networks": { "type": "array", "items": { "type": "string" } }, "addresses": { "type": "array", "items": { "type": "string" } },
            "services": { "type": "array", "items": { "type": "string" } }, "owner": { "type": "string" }, "state": { "type": "string" },
            "health": { "type": "string", "enum": ["healthy", "unhealthy", "absent"] }, "probes": { "type": "array", "items": { "$ref": "#/components/schemas/Probe" } } } },
          "Network": { "type": "object", "required": ["name", "cidr", "active"], "properties": {
            "name": { "type": "string" }, "cidr": { "type": "string" }, "gateway": { "type": "string" }, "active": { "type": "boolean" } } },
          "EnvironmentDetail": { "type": "object", "required": ["environment", "networks", "hosts", "checks", "jobs"], "properties": {
            "environment": { "$ref": "#/components/schemas/Environment" }, "networks": { "type": "array", "items": { "$ref": "#/components/schemas/Network" } },
            "hosts": { "type": "array", "items": { "$ref": "#/components/schemas/Host" } },
            "checks": { "type": "array", "items": { "type": "object", "required": ["label"], "properties": { "label": { "type": "string" } } } },
            "jobs": { "type": "array", "items": { "$ref": "#/components/schemas/Job" } } } },
          "Status": { "type": "object", "required": ["environment", "hosts"], "properties": {
            "environment": { "type": "string" }, "checkedAt": { "type": "string", "format": "date-time" }, "hosts": { "type": "array", "items": { "$ref": "#/components/schemas/Host" } } } },
          "Job": { "type": "object", "required": ["id", "kind", "environment", "targets", "state", "createdAt"], "properties": {
            "id": { "type": "string" }, "kind": { "type": "string", "enum": ["apply", "destroy", "reset", "test", "run"] }, "environment": { "type": "string" },
            "targets": { "type": "array", "items": { "type": "string" } }, "state": { "type": "string", "enum": [JOB_STATES] },
            "createdAt": { "type": "string", "format": "date-time" }, "startedAt": { "type": "string", "format": "date-time" },
            "finishedAt": { "type": "string", "format": "date-time" }, "seconds": { "type": "number" },
            "outcome": { "description": "The operation's report, as the command line's --json prints it" }, "error": { "type": "string" } } },
          "OperationEvent": { "type": "object", "required": ["kind", "message"], "properties": {
            "kind": { "type": "string", "enum": [EVENT_KINDS] }, "message": { "type": "string" }, "environment": { "type": "string" }, "domain": { "type": "string" },
            "seconds": { "type": "number" }, "attempt": { "type": "integer" }, "lines": { "type": "array", "items": { "type": "string" } } } },
          "Event": { "type": "object", "required": ["sequence", "at", "event"], "properties": {
            "sequence": { "type": "integer" }, "at": { "type": "string", "format": "date-time" }, "event": { "$ref": "#/components/schemas/OperationEvent" } } },
          "ResetRequest": { "type": "object", "properties": {
            "hosts": { "type": "array", "items": { "type": "string" } }, "evidence": { "type": "boolean" }, "memory": { "type": "boolean" }, "cold": { "type": "boolean" } } },
          "CopiesRequest": { "type": "object", "required": ["count"], "properties": {
            "count": { "type": "integer", "minimum": 1, "maximum": 200 }, "students": { "type": "array", "items": { "type": "string" } } } },
          "CopyAnswer": { "type": "object", "required": ["environment", "student", "link", "token", "expiresAt"], "properties": {
            "environment": { "type": "string" }, "student": { "type": "string" }, "link": { "type": "string", "description": "Signs the student in and opens their copy, once" },
            "token": { "type": "string", "description": "The link's token: not an API token" }, "expiresAt": { "type": "string", "format": "date-time" } } },
          "CopiesAnswer": { "type": "object", "required": ["copies", "job"], "properties": {
            "copies": { "type": "array", "items": { "$ref": "#/components/schemas/CopyAnswer" } }, "job": { "$ref": "#/components/schemas/Job" } } },
          "Endpoint": { "type": "object", "required": ["address"], "properties": { "host": { "description": "The environment's name for the address; null for one no host holds" }, "address": { "type": "string" } } },
          "TimelineEvent": { "type": "object", "required": ["time", "kind", "detail"], "properties": {
            "time": { "type": "string" }, "kind": { "type": "string", "enum": ["dns", "flow", "http", "smb-auth", "kerberos", "ldap-bind", "smtp", "milestone", "file"] },
            "network": { "description": "The network it was seen on; null for a run's own milestones" }, "src": { "$ref": "#/components/schemas/Endpoint" }, "dst": { "$ref": "#/components/schemas/Endpoint" },
            "outside": { "type": "boolean" }, "detail": { "type": "object" } } },
          "RunSummary": { "type": "object", "required": ["id", "started", "ended", "ended_by", "sample", "delivered_to"], "properties": {
            "id": { "type": "string" }, "started": { "type": "string" }, "ended": { "type": "string" },
            "ended_by": { "type": "string", "enum": ["c2", "lateral", "quiet", "time", "interrupted"] }, "sample": { "type": "string" }, "delivered_to": { "type": "string" } } },
          "Run": { "type": "object", "required": ["id", "environment", "sample", "delivered_to", "opened_on", "started", "ended", "ended_by", "milestones"], "properties": {
            "id": { "type": "string" }, "environment": { "type": "string" },
            "sample": { "type": "object", "required": ["name", "sha256", "size"], "properties": { "name": { "type": "string" }, "sha256": { "type": "string" }, "size": { "type": "integer" } } },
            "delivered_to": { "type": "string" }, "opened_on": { "type": "array", "items": { "type": "string" } },
            "started": { "type": "string" }, "ended": { "type": "string" }, "ended_by": { "type": "string", "enum": ["c2", "lateral", "quiet", "time", "interrupted"] },
            "milestones": { "type": "array", "items": { "type": "object", "required": ["name", "time"], "properties": {
              "name": { "type": "string", "enum": ["delivered", "opened", "c2", "lateral", "quiet", "ended"] }, "time": { "type": "string" }, "event": { "type": "object" } } } },
            "folder": { "type": "string" }, "reset": { "type": "string" } } },
          "EvidenceSummary": { "type": "object", "required": ["name", "created", "bytes"], "properties": { "name": { "type": "string" },
            "created": { "type": "string", "format": "date-time" }, "bytes": { "type": "integer", "description": "What its files take on disk" } } },
          "QuotaMeasure": { "type": "object", "required": ["used"], "properties": { "used": { "type": "integer" },
            "quota": { "type": "integer", "description": "Bytes allowed; absent: no limit" } } },
          "EvidenceUsage": { "type": "object", "required": ["environment", "owner"], "properties": {
            "environment": { "$ref": "#/components/schemas/QuotaMeasure" },
            "owner": { "$ref": "#/components/schemas/QuotaMeasure" }, "ownerName": { "type": "string" },
            "retentionDays": { "type": "integer", "description": "Days a folder is kept; absent: until removed" },
            "snapshots": { "type": "integer", "description": "Of the environment's bytes, what its snapshots take" },
            "retired": { "type": "integer", "description": "What earlier students of this copy kept, retired when it was given to a new one: no one's quota" } } },
          "SnapshotSummary": { "type": "object", "required": ["name", "host", "taken", "paused_ms", "memory_bytes"], "properties": {
            "name": { "type": "string" }, "host": { "type": "string" }, "taken": { "type": "string", "format": "date-time" },
            "paused_ms": { "type": "integer" }, "memory_bytes": { "type": "integer" }, "bytes": { "type": "integer", "description": "What the folder takes on disk" } } },
          "EvidenceFile": { "type": "object", "required": ["path", "sha256", "bytes", "modified"], "properties": {
            "path": { "type": "string" }, "sha256": { "type": "string" }, "bytes": { "type": "integer" }, "modified": { "type": "string", "format": "date-time" } } },
          "EvidenceCheck": { "type": "object", "required": ["path", "sha256", "bytes", "verified"], "properties": {
            "path": { "type": "string" }, "sha256": { "type": "string" }, "bytes": { "type": "integer" }, "verified": { "type": "boolean" } } },
          "EvidenceDetail": { "type": "object", "required": ["name", "manifest", "files"], "properties": {
            "name": { "type": "string" }, "files": { "type": "array", "items": { "$ref": "#/components/schemas/EvidenceCheck" } },
            "manifest": { "type": "object", "required": ["environment", "topologyDigest", "created", "tool", "hosts", "captures"], "properties": {
              "environment": { "type": "string" }, "topologyDigest": { "type": "string" }, "created": { "type": "string", "format": "date-time" },
              "tool": { "type": "string" }, "captures": { "type": "array", "items": { "$ref": "#/components/schemas/EvidenceFile" } },
              "hosts": { "type": "array", "items": { "type": "object", "required": ["host", "domain", "files"], "properties": {
                "host": { "type": "string" }, "domain": { "type": "string" }, "files": { "type": "array", "items": { "$ref": "#/components/schemas/EvidenceFile" } } } } } } } } }
        }
      }
    }
    """#.replacingOccurrences(of: #"{ "$ref_job_quota": "" }"#, with: """
    { "202": { "$ref": "#/components/responses/Job" }, "400": { "$ref": "#/components/responses/BadRequest" },
      "401": { "$ref": "#/components/responses/Unauthorized" }, "403": { "$ref": "#/components/responses/Forbidden" },
      "404": { "$ref": "#/components/responses/NotFound" }, "422": { "$ref": "#/components/responses/Unprocessable" },
      "507": { "description": "The evidence or snapshot would pass a quota: nothing was stopped or paused", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } }
    """).replacingOccurrences(of: #"{ "$ref_job": "" }"#, with: """
    { "202": { "$ref": "#/components/responses/Job" }, "400": { "$ref": "#/components/responses/BadRequest" },
      "401": { "$ref": "#/components/responses/Unauthorized" }, "403": { "$ref": "#/components/responses/Forbidden" },
      "404": { "$ref": "#/components/responses/NotFound" }, "422": { "$ref": "#/components/responses/Unprocessable" } }
    """)
}
