// The one file that calls SQLite (`sqlite3_*`). The rest of the store speaks SQL through
// `SQLiteConnection` and `SQLiteStatement` and never sees a C pointer.
import CSQLite
import Foundation

/// An error from SQLite, with the statement that failed.
public struct SQLiteError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public var description: String { "SQLite error \(code): \(message)" }
    /// True for SQLITE_BUSY / SQLITE_LOCKED: another process holds the lock.
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
    /// True for SQLITE_FULL: the disk (or a file size limit) has no room for a write.
    public var isFull: Bool { code & 0xff == SQLITE_FULL }
    /// True for SQLITE_IOERR and its extended codes (e.g. the WAL index could not be sized).
    public var isIOError: Bool { code & 0xff == SQLITE_IOERR }
}

/// `SQLITE_TRANSIENT` does not import into Swift: SQLite copies the bound value.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One connection to a database file. Not thread-safe by itself: `Store` serialises access.
final class SQLiteConnection {
    private let handle: OpaquePointer
    private var cache: [String: SQLiteStatement] = [:]
    let path: String
    /// Tests only: when it returns true, a write transaction fails as on a full disk (a
    /// fake disk at the I/O edge; a real full file system needs root to make).
    var simulateFullDisk: (() -> Bool)?

    /// Opens (creating if needed) the database at `path`.
    init(path: String, busyTimeoutMilliseconds: Int32 = 60_000) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "\(path): \(message)")
        }
        handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw SQLiteError(code: rc, message: message)
        }
    }

    /// The first column of the first row of a one-off statement (a PRAGMA's value).
    func singleText(_ sql: String) throws -> String {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw lastError(rc, sql: sql) }
        defer { sqlite3_finalize(stmt) }
        let step = sqlite3_step(stmt)
        guard step == SQLITE_ROW || step == SQLITE_DONE else { throw lastError(step, sql: sql) }
        guard step == SQLITE_ROW, let text = sqlite3_column_text(stmt, 0) else { return "" }
        return String(cString: text)
    }

    /// A prepared statement, reset and reused across calls with the same SQL.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        if let cached = cache[sql] {
            cached.reset()
            return cached
        }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw lastError(rc, sql: sql) }
        let statement = SQLiteStatement(stmt, connection: self)
        cache[sql] = statement
        return statement
    }

    /// Resets every cached statement. A statement left on a row keeps its read snapshot
    /// open, which would hide other processes' commits and block WAL checkpoints; `Store`
    /// calls this whenever it releases the connection.
    func resetAll() {
        for statement in cache.values { statement.reset() }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; rolls back if it throws.
    ///
    /// IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
    /// instead of failing on lock upgrade half-way through.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        if let simulateFullDisk, simulateFullDisk() {
            throw SQLiteError(code: SQLITE_FULL, message: "database or disk is full (simulated)")
        }
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Rowid of the last insert on this connection.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// Reads `count` bytes at `offset` of a BLOB cell straight into `destination`
    /// (incremental blob I/O: no intermediate copy of the whole value).
    func readBlob(table: String, column: String, rowID: Int64, offset: Int, count: Int,
                  into destination: UnsafeMutableRawPointer) throws {
        var blob: OpaquePointer?
        var rc = sqlite3_blob_open(handle, "main", table, column, rowID, 0, &blob)
        guard rc == SQLITE_OK, let blob else { throw lastError(rc, sql: "blob_open \(table).\(column) row \(rowID)") }
        defer { sqlite3_blob_close(blob) }
        rc = sqlite3_blob_read(blob, destination, Int32(count), Int32(offset))
        guard rc == SQLITE_OK else { throw lastError(rc, sql: "blob_read \(table).\(column) row \(rowID)") }
    }

    fileprivate func lastError(_ rc: Int32, sql: String) -> SQLiteError {
        SQLiteError(code: rc, message: "\(String(cString: sqlite3_errmsg(handle))) [\(sql.prefix(120))]")
    }
}

/// A prepared statement. Bind with 1-based indices, then `step()` through the rows.
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private unowned let connection: SQLiteConnection

    fileprivate init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
    }

    @discardableResult
    func bind(_ index: Int32, _ value: Int64) -> Self { sqlite3_bind_int64(stmt, index, value); return self }
    @discardableResult
    func bind(_ index: Int32, _ value: Int) -> Self { bind(index, Int64(value)) }
    @discardableResult
    func bind(_ index: Int32, _ value: Double) -> Self { sqlite3_bind_double(stmt, index, value); return self }
    @discardableResult
    func bind(_ index: Int32, _ value: String) -> Self { sqlite3_bind_text(stmt, index, value, -1, transient); return self }
    @discardableResult
    func bind(_ index: Int32, _ value: String?) -> Self {
        if let value { return bind(index, value) }
        sqlite3_bind_null(stmt, index); return self
    }
    @discardableResult
    func bind(_ index: Int32, _ value: [UInt8]) -> Self {
        value.withUnsafeBytes { b in _ = sqlite3_bind_blob(stmt, index, b.baseAddress, Int32(b.count), transient) }
        return self
    }
    /// Binds bytes without copying: `bytes` must stay valid until the statement is stepped
    /// to completion or reset.
    @discardableResult
    func bindNoCopy(_ index: Int32, _ bytes: UnsafeRawBufferPointer) -> Self {
        sqlite3_bind_blob(stmt, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), nil)
        return self
    }

    /// Advances to the next row; false when done.
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.lastError(rc, sql: String(cString: sqlite3_sql(stmt)))
        }
    }

    /// Steps a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(stmt, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }
    func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, column) else { return "" }
        return String(cString: p)
    }
    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(stmt, column))
        guard count > 0, let p = sqlite3_column_blob(stmt, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: count))
    }
    /// Calls `body` with the cell's bytes, valid only during the call.
    func withBlob<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let p = sqlite3_column_blob(stmt, column)
        let count = Int(sqlite3_column_bytes(stmt, column))
        return try body(UnsafeRawBufferPointer(start: p, count: p == nil ? 0 : count))
    }
}
