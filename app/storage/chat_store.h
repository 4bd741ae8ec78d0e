// Chat history on disk: chats and their messages in one SQLite file, schema kept current by the
// numbered migrations (PRAGMA user_version, one transaction each). The desktop app's only storage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

struct sqlite3;

namespace gemdesk::storage {

struct ChatSummary {
    int64_t id = 0;
    std::string title;
    std::string system_prompt;  // the system prompt the chat was started with ("" = none)
    int64_t created_at_ms = 0;  // Unix milliseconds
    int64_t updated_at_ms = 0;  // last message appended
};

struct StoredToolCall {
    std::string id;
    std::string name;
    std::string arguments;  // JSON object text, as the model produced it
};

struct StoredMessage {
    int64_t id = 0;    // assigned by append_message()
    std::string role;  // "user" or "assistant"
    std::string content;
    std::string reasoning;
    std::vector<StoredToolCall> tool_calls;
    std::string finish_reason;  // assistant: stop / length / tool_calls / cancelled / error
    std::string error;          // assistant: readable message when generation failed
    int prompt_tokens = 0;
    int completion_tokens = 0;
    int64_t created_at_ms = 0;  // 0: now
};

// Thread-compatible: use one ChatStore from one thread. Every call is one short transaction.
class ChatStore {
public:
    // Opens (creating when absent) the database at PATH and brings it to the latest schema.
    // Errors, all leaving the file untouched: corrupt_file (not an SQLite database, or damaged),
    // invalid_argument (an SQLite file of another program, or written by a newer GemDesk),
    // not_found (the folder cannot be created or the file opened).
    static gemma::Result<std::unique_ptr<ChatStore>> open(const std::string & path);
    static int latest_schema_version();
    ~ChatStore();
    ChatStore(const ChatStore &) = delete;
    ChatStore & operator=(const ChatStore &) = delete;

    const std::string & path() const { return path_; }
    gemma::Result<int> schema_version();

    gemma::Result<int64_t> create_chat(const std::string & title,
                                       const std::string & system_prompt);
    // Newest activity first.
    gemma::Result<std::vector<ChatSummary>> list_chats();
    gemma::Result<ChatSummary> chat(int64_t id);  // not_found for an unknown id
    gemma::Status rename_chat(int64_t id, const std::string & title);
    // Deletes the chat and its messages; not_found for an unknown id.
    gemma::Status delete_chat(int64_t id);

    // Appends to the chat (not_found for an unknown chat) and bumps its updated time.
    gemma::Result<int64_t> append_message(int64_t chat_id, const StoredMessage & message);
    // In the order they were appended.
    gemma::Result<std::vector<StoredMessage>> messages(int64_t chat_id);

private:
    ChatStore(sqlite3 * db, std::string path) : db_(db), path_(std::move(path)) {}
    gemma::Status migrate();

    sqlite3 * db_;
    std::string path_;
};

}  // namespace gemdesk::storage
