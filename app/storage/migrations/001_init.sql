-- Chat history, first schema: chats and their messages in order. Times are Unix milliseconds.
CREATE TABLE chats (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    system_prompt TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    role TEXT NOT NULL,                       -- 'user' or 'assistant'
    content TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',       -- the reply's thinking, if any
    tool_calls TEXT NOT NULL DEFAULT '[]',    -- JSON [{"id","name","arguments"}]
    finish_reason TEXT NOT NULL DEFAULT '',   -- stop / length / tool_calls / cancelled / error
    error TEXT NOT NULL DEFAULT '',           -- readable message when generation failed
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE INDEX messages_by_chat ON messages(chat_id, id);
CREATE INDEX chats_by_update ON chats(updated_at DESC);
