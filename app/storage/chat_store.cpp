// ChatStore: opening (with corruption checks that never modify the file), migrations, and the
// chat / message queries.
#include "storage/chat_store.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "storage/migrations.h"
#include "storage/sqlite_stmt.h"

namespace gemdesk::storage {

namespace {

using gemma::ErrorCode;
using gemma::make_error;

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Rolls back unless commit() succeeded.
class Transaction {
public:
    explicit Transaction(sqlite3 * db) : db_(db) {
        begun_ = sqlite_exec(db, "BEGIN IMMEDIATE", "begin transaction");
    }
    ~Transaction() {
        if (begun_.ok() && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    const gemma::Status & begun() const { return begun_; }
    gemma::Status commit() {
        done_ = true;
        return sqlite_exec(db_, "COMMIT", "commit transaction");
    }

private:
    sqlite3 * db_;
    gemma::Status begun_;
    bool done_ = false;
};

gemma::Result<int64_t> query_int(sqlite3 * db, const char * sql, const std::string & what) {
    Stmt s(db, sql);
    if (!s.ok()) return s.error(what);
    if (!s.step())
        return s.done_ok() ? make_error(ErrorCode::internal, what + ": no row") : s.error(what);
    return s.col_int(0);
}

std::string tool_calls_json(const std::vector<StoredToolCall> & calls) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto & c : calls)
        a.push_back({{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}});
    return a.dump();
}

// Tolerant: a damaged column yields no calls rather than a failed history load.
std::vector<StoredToolCall> tool_calls_from_json(const std::string & text) {
    std::vector<StoredToolCall> out;
    auto a = nlohmann::json::parse(text, nullptr, false);
    if (!a.is_array()) return out;
    for (const auto & c : a) {
        if (!c.is_object()) continue;
        out.push_back({c.value("id", ""), c.value("name", ""), c.value("arguments", "")});
    }
    return out;
}

std::string untouched_hint(const std::string & path) {
    return ". The file was left untouched: move '" + path +
           "' aside to start a new history, or pass --db with another file.";
}

// Reads the header and checks the pages without writing anything.
gemma::Status check_readable(sqlite3 * db, const std::string & path) {
    auto version = query_int(db, "PRAGMA user_version", "read schema version");
    if (!version.ok())
        return make_error(ErrorCode::corrupt_file,
                          "'" + path + "' is not a GemDesk chat database or is damaged (" +
                              version.error().message + ")" + untouched_hint(path));
    Stmt s(db, "PRAGMA quick_check");
    std::string verdict = s.ok() && s.step() ? s.col_text(0) : "";
    if (verdict != "ok")
        return make_error(ErrorCode::corrupt_file,
                          "'" + path + "' is damaged (SQLite quick_check: " +
                              (verdict.empty() ? std::string(sqlite3_errmsg(db)) : verdict) + ")" +
                              untouched_hint(path));
    return {};
}

// Copies the database next to itself before an existing history is migrated.
gemma::Status backup(sqlite3 * db, const std::string & path, int version) {
    std::string target =
        path + ".v" + std::to_string(version) + "-" + std::to_string(now_ms()) + ".bak";
    Stmt s(db, "VACUUM INTO ?");
    s.bind(1, target);
    return s.run("back up the chat database to '" + target + "' before migrating it");
}

}  // namespace

int ChatStore::latest_schema_version() {
    auto all = migrations();
    return all.empty() ? 0 : all.back().version;
}

gemma::Result<std::unique_ptr<ChatStore>> ChatStore::open(const std::string & path) {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
        return make_error(ErrorCode::not_found, "cannot create the folder '" + parent.string() +
                                                    "' for the chat database: " + ec.message());
    sqlite3 * db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
        auto err = sqlite_error(db, rc, "cannot open the chat database '" + path + "'");
        sqlite3_close(db);
        return make_error(ErrorCode::not_found, err.message);
    }
    std::unique_ptr<ChatStore> store(new ChatStore(db, path));
    sqlite3_busy_timeout(db, 2000);
    GEMMA_TRY(check_readable(db, path));
    GEMMA_TRY(sqlite_exec(db, "PRAGMA foreign_keys = ON", "enable foreign keys"));
    GEMMA_TRY(store->migrate());
    return store;
}

ChatStore::~ChatStore() { sqlite3_close(db_); }

gemma::Result<int> ChatStore::schema_version() {
    auto v = query_int(db_, "PRAGMA user_version", "read schema version");
    if (!v.ok()) return v.error();
    return int(*v);
}

gemma::Status ChatStore::migrate() {
    auto version = schema_version();
    if (!version.ok()) return version.error();
    int latest = latest_schema_version();
    if (*version > latest)
        return make_error(ErrorCode::invalid_argument,
                          "'" + path_ + "' was written by a newer GemDesk (schema " +
                              std::to_string(*version) + ", this build knows up to " +
                              std::to_string(latest) +
                              "); update GemDesk or pass --db with another file");
    if (*version == 0) {
        auto tables = query_int(db_, "SELECT count(*) FROM sqlite_master", "list tables");
        if (!tables.ok()) return tables.error();
        if (*tables > 0)
            return make_error(ErrorCode::invalid_argument,
                              "'" + path_ +
                                  "' is an SQLite database of another program (it has tables "
                                  "but no GemDesk schema version); pass --db with another file");
    } else if (*version < latest) {
        GEMMA_TRY(backup(db_, path_, *version));
    }
    for (const auto & m : migrations()) {
        if (m.version <= *version) continue;
        Transaction tx(db_);
        GEMMA_TRY(tx.begun());
        std::string what = std::string("migration ") + m.name;
        GEMMA_TRY(sqlite_exec(db_, m.sql, what));
        std::string set = "PRAGMA user_version = " + std::to_string(m.version);
        GEMMA_TRY(sqlite_exec(db_, set.c_str(), what));
        GEMMA_TRY(tx.commit());
    }
    return {};
}

gemma::Result<int64_t> ChatStore::create_chat(const std::string & title,
                                              const std::string & system_prompt) {
    int64_t now = now_ms();
    Stmt s(db_,
           "INSERT INTO chats (title, system_prompt, created_at, updated_at) VALUES (?, ?, ?, ?)");
    s.bind(1, title).bind(2, system_prompt).bind(3, now).bind(4, now);
    GEMMA_TRY(s.run("create a chat"));
    return int64_t(sqlite3_last_insert_rowid(db_));
}

gemma::Result<std::vector<ChatSummary>> ChatStore::list_chats() {
    Stmt s(db_,
           "SELECT id, title, system_prompt, created_at, updated_at FROM chats "
           "ORDER BY updated_at DESC, id DESC");
    if (!s.ok()) return s.error("list chats");
    std::vector<ChatSummary> out;
    while (s.step())
        out.push_back({s.col_int(0), s.col_text(1), s.col_text(2), s.col_int(3), s.col_int(4)});
    if (!s.done_ok()) return s.error("list chats");
    return out;
}

gemma::Result<ChatSummary> ChatStore::chat(int64_t id) {
    Stmt s(db_, "SELECT id, title, system_prompt, created_at, updated_at FROM chats WHERE id = ?");
    s.bind(1, id);
    if (!s.ok()) return s.error("read chat");
    if (!s.step()) {
        if (!s.done_ok()) return s.error("read chat");
        return make_error(ErrorCode::not_found, "no chat with id " + std::to_string(id));
    }
    return ChatSummary{s.col_int(0), s.col_text(1), s.col_text(2), s.col_int(3), s.col_int(4)};
}

gemma::Status ChatStore::rename_chat(int64_t id, const std::string & title) {
    Stmt s(db_, "UPDATE chats SET title = ? WHERE id = ?");
    s.bind(1, title).bind(2, id);
    GEMMA_TRY(s.run("rename chat"));
    if (sqlite3_changes(db_) == 0)
        return make_error(ErrorCode::not_found, "no chat with id " + std::to_string(id));
    return {};
}

gemma::Status ChatStore::delete_chat(int64_t id) {
    Stmt s(db_, "DELETE FROM chats WHERE id = ?");
    s.bind(1, id);
    GEMMA_TRY(s.run("delete chat"));
    if (sqlite3_changes(db_) == 0)
        return make_error(ErrorCode::not_found, "no chat with id " + std::to_string(id));
    return {};
}

gemma::Result<int64_t> ChatStore::append_message(int64_t chat_id, const StoredMessage & m) {
    Transaction tx(db_);
    GEMMA_TRY(tx.begun());
    int64_t at = m.created_at_ms ? m.created_at_ms : now_ms();
    Stmt touch(db_, "UPDATE chats SET updated_at = ? WHERE id = ?");
    touch.bind(1, at).bind(2, chat_id);
    GEMMA_TRY(touch.run("append message"));
    if (sqlite3_changes(db_) == 0)
        return make_error(ErrorCode::not_found, "no chat with id " + std::to_string(chat_id));
    Stmt s(db_,
           "INSERT INTO messages (chat_id, role, content, reasoning, tool_calls, finish_reason, "
           "error, prompt_tokens, completion_tokens, created_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, chat_id).bind(2, m.role).bind(3, m.content).bind(4, m.reasoning);
    s.bind(5, tool_calls_json(m.tool_calls)).bind(6, m.finish_reason).bind(7, m.error);
    s.bind(8, int64_t(m.prompt_tokens)).bind(9, int64_t(m.completion_tokens)).bind(10, at);
    GEMMA_TRY(s.run("append message"));
    int64_t id = sqlite3_last_insert_rowid(db_);
    GEMMA_TRY(tx.commit());
    return id;
}

gemma::Result<std::vector<StoredMessage>> ChatStore::messages(int64_t chat_id) {
    GEMMA_TRY(chat(chat_id));
    Stmt s(db_,
           "SELECT id, role, content, reasoning, tool_calls, finish_reason, error, "
           "prompt_tokens, completion_tokens, created_at FROM messages WHERE chat_id = ? "
           "ORDER BY id");
    s.bind(1, chat_id);
    if (!s.ok()) return s.error("read messages");
    std::vector<StoredMessage> out;
    while (s.step()) {
        StoredMessage m;
        m.id = s.col_int(0);
        m.role = s.col_text(1);
        m.content = s.col_text(2);
        m.reasoning = s.col_text(3);
        m.tool_calls = tool_calls_from_json(s.col_text(4));
        m.finish_reason = s.col_text(5);
        m.error = s.col_text(6);
        m.prompt_tokens = int(s.col_int(7));
        m.completion_tokens = int(s.col_int(8));
        m.created_at_ms = s.col_int(9);
        out.push_back(std::move(m));
    }
    if (!s.done_ok()) return s.error("read messages");
    return out;
}

}  // namespace gemdesk::storage
