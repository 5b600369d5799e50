import Digest
import Foundation
import GRDB

/// Who may do what: an admin everything, an instructor every environment and copy, a student only
/// the copies given to them.
public enum Role: String, Codable, Sendable, CaseIterable {
    case admin
    case instructor
    case student
}

public struct User: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "users"
    public var id: Int64?
    public var name: String
    public var role: Role
    /// bcrypt; empty for a student who signs in only by their link.
    public var passwordHash: String
    public var createdAt: Date

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// An environment the server manages: its topology as uploaded, and for a copy, whose it is.
public struct EnvironmentRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "environments"
    public var name: String
    /// The topology's YAML, as uploaded (copies point at their original's).
    public var source: String
    /// For a copy (`ENV-i2`): the environment it is a copy of.
    public var copyOf: String?
    /// For a copy handed to a student: that student.
    public var studentID: Int64?
    public var createdBy: Int64?
    public var createdAt: Date
    public var updatedAt: Date
}

public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued
    case running
    case succeeded
    case failed
    /// The server stopped while it ran; the environment converges on its next apply.
    case interrupted
}

/// An apply, destroy, reset or test, with its events and outcome.
public struct Job: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "jobs"
    public var id: String
    public var kind: String
    public var environment: String
    /// Every environment it acts on (an environment and its copies), space-separated.
    public var targets: String
    public var state: JobState
    public var userID: Int64?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// The operation's report, as JSON; or its error.
    public var outcome: String?
    public var error: String?
}

public struct JobEventRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job_events"
    public var jobID: String
    public var sequence: Int
    public var at: Date
    /// `OperationEvent` as JSON.
    public var event: String
}

public enum TokenKind: String, Sendable {
    case api
    case link
}

/// Everything the server keeps, in SQLite under its data folder: users, tokens and sessions (only
/// their hashes), environments, jobs and their events.
public final class Store: Sendable {
    let database: DatabasePool

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        database = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "users") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("name", .text).notNull().unique()
                table.column("role", .text).notNull()
                table.column("passwordHash", .text).notNull()
                table.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "tokens") { table in
                table.primaryKey("hash", .text)
                table.column("userID", .integer).notNull().references("users", onDelete: .cascade)
                table.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "sessions") { table in
                table.primaryKey("hash", .text)
                table.column("userID", .integer).notNull().references("users", onDelete: .cascade)
                table.column("csrf", .text).notNull()
                table.column("expiresAt", .datetime).notNull()
            }
            try db.create(table: "environments") { table in
                table.primaryKey("name", .text)
                table.column("source", .text).notNull()
                table.column("copyOf", .text)
                table.column("studentID", .integer).references("users", onDelete: .setNull)
                table.column("createdBy", .integer)
                table.column("createdAt", .datetime).notNull()
                table.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "jobs") { table in
                table.primaryKey("id", .text)
                table.column("kind", .text).notNull()
                table.column("environment", .text).notNull().indexed()
                table.column("targets", .text).notNull()
                table.column("state", .text).notNull()
                table.column("userID", .integer)
                table.column("createdAt", .datetime).notNull()
                table.column("startedAt", .datetime)
                table.column("finishedAt", .datetime)
                table.column("outcome", .text)
                table.column("error", .text)
            }
            try db.create(table: "job_events") { table in
                table.column("jobID", .text).notNull().references("jobs", onDelete: .cascade)
                table.column("sequence", .integer).notNull()
                table.column("at", .datetime).notNull()
                table.column("event", .text).notNull()
                table.primaryKey(["jobID", "sequence"])
            }
        }
        // Tokens of two kinds: `api` (a bearer token, or a password in its place) and `link` (a
        // student's link: exchanged once for a session, then gone; it expires).
        migrator.registerMigration("v2") { db in
            try db.alter(table: "tokens") { table in
                table.add(column: "kind", .text).notNull().defaults(to: TokenKind.api.rawValue)
                table.add(column: "expiresAt", .datetime)
                // A link opens the copy it was made for.
                table.add(column: "environment", .text)
            }
            // The links made before kinds existed (the tokens of students with a copy) become links
            // that expire, instead of API tokens that never do.
            try db.execute(sql: """
                UPDATE tokens SET kind = ?, expiresAt = ?
                WHERE userID IN (SELECT studentID FROM environments WHERE copyOf IS NOT NULL AND studentID IS NOT NULL)
                """, arguments: [TokenKind.link.rawValue, Date().addingTimeInterval(7 * 24 * 3600)])
        }
        return migrator
    }

    // MARK: - Users, tokens, sessions

    public func userCount() throws -> Int {
        try database.read { try User.fetchCount($0) }
    }

    public func insert(_ user: User) throws -> User {
        try database.write { db in
            var user = user
            try user.insert(db)
            return user
        }
    }

    public func user(named name: String) throws -> User? {
        try database.read { try User.filter(Column("name") == name).fetchOne($0) }
    }

    public func user(id: Int64) throws -> User? {
        try database.read { try User.fetchOne($0, key: id) }
    }

    public func users() throws -> [User] {
        try database.read { try User.order(Column("id")).fetchAll($0) }
    }

    /// Keeps only the token's hash: a stolen database holds no usable token.
    public func addToken(_ token: String, userID: Int64, kind: TokenKind = .api, expiresAt: Date? = nil, environment: String? = nil) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO tokens (hash, userID, createdAt, kind, expiresAt, environment) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [Self.hash(token), userID, Date(), kind.rawValue, expiresAt, environment])
        }
    }

    /// The user of an API token (never of a link's), unless it expired.
    public func user(token: String) throws -> User? {
        try database.read { db in
            try User.fetchOne(db, sql: """
                SELECT users.* FROM users JOIN tokens ON tokens.userID = users.id
                WHERE tokens.hash = ? AND tokens.kind = ? AND (tokens.expiresAt IS NULL OR tokens.expiresAt > ?)
                """, arguments: [Self.hash(token), TokenKind.api.rawValue, Date()])
        }
    }

    /// Whether a link token is one that `takeLink` would take now (nothing is used up).
    public func linkIsValid(_ token: String) throws -> Bool {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tokens WHERE hash = ? AND kind = ? AND (expiresAt IS NULL OR expiresAt > ?)",
                             arguments: [Self.hash(token), TokenKind.link.rawValue, Date()]) ?? 0 > 0
        }
    }

    /// The user of a link token and the copy it opens; the link is used up by this: it opens one session, once.
    public func takeLink(_ token: String) throws -> (user: User, environment: String?)? {
        try database.write { db in
            let hash = Self.hash(token)
            guard let row = try Row.fetchOne(db, sql: "SELECT userID, environment FROM tokens WHERE hash = ? AND kind = ? AND (expiresAt IS NULL OR expiresAt > ?)",
                                             arguments: [hash, TokenKind.link.rawValue, Date()]),
                  let user = try User.fetchOne(db, key: row["userID"] as Int64) else { return nil }
            try db.execute(sql: "DELETE FROM tokens WHERE hash = ?", arguments: [hash])
            return (user, row["environment"])
        }
    }

    /// Revokes a user's links (to one copy, or all) and, when asked, ends their sessions; returns
    /// how many links there were.
    @discardableResult
    public func revokeLinks(userID: Int64, environment: String? = nil, endingSessions: Bool) throws -> Int {
        try database.write { db in
            if let environment {
                try db.execute(sql: "DELETE FROM tokens WHERE userID = ? AND kind = ? AND environment = ?", arguments: [userID, TokenKind.link.rawValue, environment])
            } else {
                try db.execute(sql: "DELETE FROM tokens WHERE userID = ? AND kind = ?", arguments: [userID, TokenKind.link.rawValue])
            }
            let links = db.changesCount
            if endingSessions { try db.execute(sql: "DELETE FROM sessions WHERE userID = ?", arguments: [userID]) }
            return links
        }
    }

    public func addSession(_ session: String, userID: Int64, csrf: String, expiresAt: Date) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE expiresAt < ?", arguments: [Date()])
            try db.execute(sql: "INSERT INTO sessions (hash, userID, csrf, expiresAt) VALUES (?, ?, ?, ?)",
                           arguments: [Self.hash(session), userID, csrf, expiresAt])
        }
    }

    /// The session's user and its CSRF token, unless it expired.
    public func session(_ session: String) throws -> (user: User, csrf: String)? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT userID, csrf FROM sessions WHERE hash = ? AND expiresAt > ?",
                                             arguments: [Self.hash(session), Date()]),
                let user = try User.fetchOne(db, key: row["userID"] as Int64) else { return nil }
            return (user, row["csrf"])
        }
    }

    public func removeSession(_ session: String) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM sessions WHERE hash = ?", arguments: [Self.hash(session)]) }
    }

    static func hash(_ secret: String) -> String { SHA256.hash(secret).hexString }

    // MARK: - Environments

    public func save(_ environment: EnvironmentRecord) throws {
        try database.write { db in try environment.save(db) }
    }

    public func environment(_ name: String) throws -> EnvironmentRecord? {
        try database.read { try EnvironmentRecord.fetchOne($0, key: name) }
    }

    public func environments() throws -> [EnvironmentRecord] {
        try database.read { try EnvironmentRecord.order(Column("name")).fetchAll($0) }
    }

    public func copies(of name: String) throws -> [EnvironmentRecord] {
        try database.read { try EnvironmentRecord.filter(Column("copyOf") == name).order(Column("name")).fetchAll($0) }
    }

    public func removeEnvironments(_ names: [String]) throws {
        try database.write { db in _ = try EnvironmentRecord.deleteAll(db, keys: names) }
    }

    // MARK: - Jobs

    public func insert(_ job: Job) throws {
        try database.write { db in try job.insert(db) }
    }

    public func update(_ job: Job) throws {
        try database.write { db in try job.update(db) }
    }

    public func job(_ id: String) throws -> Job? {
        try database.read { try Job.fetchOne($0, key: id) }
    }

    public func jobs(limit: Int = 100) throws -> [Job] {
        try database.read { try Job.order(Column("createdAt").desc).limit(limit).fetchAll($0) }
    }

    public func appendEvent(_ event: JobEventRecord) throws {
        try database.write { db in try event.insert(db) }
    }

    public func events(job: String, after sequence: Int = -1) throws -> [JobEventRecord] {
        try database.read { db in
            try JobEventRecord.filter(Column("jobID") == job && Column("sequence") > sequence).order(Column("sequence")).fetchAll(db)
        }
    }

    /// Jobs left queued or running by a server that stopped: marked interrupted. Returns how many.
    public func markUnfinishedInterrupted() throws -> Int {
        try database.write { db in
            try db.execute(sql: "UPDATE jobs SET state = ?, finishedAt = ?, error = ? WHERE state IN (?, ?)",
                           arguments: [JobState.interrupted.rawValue, Date(), "the server stopped while this job ran; apply again to converge",
                                       JobState.queued.rawValue, JobState.running.rawValue])
            return db.changesCount
        }
    }
}
