// SQLite statement wrapper and error mapping for app/storage.
#include "storage/sqlite_stmt.h"

namespace gemdesk::storage {

gemma::Error sqlite_error(sqlite3 * db, int rc, const std::string & what) {
    int primary = rc & 0xff;
    auto code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB
                    ? gemma::ErrorCode::corrupt_file
                    : gemma::ErrorCode::internal;
    const char * msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return gemma::make_error(code, what + ": SQLite says " + (msg ? msg : sqlite3_errstr(rc)));
}

gemma::Status sqlite_exec(sqlite3 * db, const char * sql, const std::string & what) {
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
    return {};
}

Stmt::Stmt(sqlite3 * db, const char * sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
}

Stmt & Stmt::bind(int i, int64_t v) {
    if (ok()) rc_ = sqlite3_bind_int64(stmt_, i, v);
    return *this;
}

Stmt & Stmt::bind(int i, const std::string & v) {
    if (ok()) rc_ = sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
}

bool Stmt::step() {
    if (!stmt_ || !done_ok() || rc_ == SQLITE_DONE) return false;
    rc_ = sqlite3_step(stmt_);
    return rc_ == SQLITE_ROW;
}

gemma::Status Stmt::run(const std::string & what) {
    if (!ok()) return error(what);
    while (step()) {
    }
    if (rc_ != SQLITE_DONE) return error(what);
    return {};
}

std::string Stmt::col_text(int i) const {
    const auto * p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char *>(p),
                           size_t(sqlite3_column_bytes(stmt_, i)))
             : std::string();
}

}  // namespace gemdesk::storage
