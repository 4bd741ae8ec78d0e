// ChatStore on real SQLite files: schema created from an empty file, data surviving a reopen,
// deletes cascading to messages, and bad files (garbage, damaged pages, another program's
// database, a newer schema) refused with a clear error while their bytes stay untouched.
#include "storage/chat_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/migrations.h"

namespace gemdesk::storage {
namespace {

namespace fs = std::filesystem;

class ChatStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto * info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() / (std::string("gemdesk_chat_store_") + info->name() +
                                            "_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string db_path(const char * name = "chats.db") const { return (dir_ / name).string(); }

    fs::path dir_;
};

std::string read_bytes(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string & path, const std::string & bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Runs SQL on a file with the plain SQLite API (to build hand-made databases).
void raw_exec(const std::string & path, const char * sql) {
    sqlite3 * db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
}

StoredMessage assistant_reply() {
    StoredMessage m;
    m.role = "assistant";
    m.content = "Paris is the capital. \xF0\x9F\x87\xAB\xF0\x9F\x87\xB7";  // emoji survives
    m.reasoning = "The user asks about France.";
    m.tool_calls = {{"chatcmpl-tool-1", "get_weather", R"({"city":"Paris"})"}};
    m.finish_reason = "tool_calls";
    m.prompt_tokens = 21;
    m.completion_tokens = 9;
    return m;
}

TEST_F(ChatStoreTest, MigratesAnEmptyFileToTheLatestSchema) {
    ASSERT_FALSE(migrations().empty());
    EXPECT_EQ(migrations().front().version, 1);
    for (size_t i = 0; i < migrations().size(); ++i)
        EXPECT_EQ(migrations()[i].version, int(i + 1)) << migrations()[i].name;
    auto store = ChatStore::open(db_path("sub/dir/chats.db"));  // folders are created
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto version = (*store)->schema_version();
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(*version, ChatStore::latest_schema_version());
    auto chats = (*store)->list_chats();
    ASSERT_TRUE(chats.ok());
    EXPECT_TRUE(chats->empty());
}

TEST_F(ChatStoreTest, ChatsAndMessagesSurviveAReopen) {
    int64_t first = 0, second = 0;
    {
        auto store = ChatStore::open(db_path());
        ASSERT_TRUE(store.ok()) << store.error().message;
        auto a = (*store)->create_chat("Capitals", "You are terse.");
        ASSERT_TRUE(a.ok());
        first = *a;
        StoredMessage user;
        user.role = "user";
        user.content = "Capital of France?";
        user.created_at_ms = 1000;
        ASSERT_TRUE((*store)->append_message(first, user).ok());
        StoredMessage reply = assistant_reply();
        reply.created_at_ms = 2000;
        ASSERT_TRUE((*store)->append_message(first, reply).ok());
        auto b = (*store)->create_chat("Empty", "");
        ASSERT_TRUE(b.ok());
        second = *b;
        ASSERT_TRUE((*store)->rename_chat(second, "Renamed").ok());
    }
    auto store = ChatStore::open(db_path());
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto chats = (*store)->list_chats();
    ASSERT_TRUE(chats.ok());
    ASSERT_EQ(chats->size(), 2u);
    EXPECT_EQ((*chats)[0].id, second);  // created after the last message of `first`
    EXPECT_EQ((*chats)[0].title, "Renamed");
    EXPECT_EQ((*chats)[1].title, "Capitals");
    EXPECT_EQ((*chats)[1].system_prompt, "You are terse.");
    EXPECT_EQ((*chats)[1].updated_at_ms, 2000);
    auto msgs = (*store)->messages(first);
    ASSERT_TRUE(msgs.ok()) << msgs.error().message;
    ASSERT_EQ(msgs->size(), 2u);
    EXPECT_EQ((*msgs)[0].role, "user");
    EXPECT_EQ((*msgs)[0].content, "Capital of France?");
    const StoredMessage & r = (*msgs)[1];
    StoredMessage want = assistant_reply();
    EXPECT_EQ(r.content, want.content);
    EXPECT_EQ(r.reasoning, want.reasoning);
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0].id, "chatcmpl-tool-1");
    EXPECT_EQ(r.tool_calls[0].name, "get_weather");
    EXPECT_EQ(r.tool_calls[0].arguments, R"({"city":"Paris"})");
    EXPECT_EQ(r.finish_reason, "tool_calls");
    EXPECT_EQ(r.prompt_tokens, 21);
    EXPECT_EQ(r.completion_tokens, 9);
    EXPECT_EQ(r.created_at_ms, 2000);
}

TEST_F(ChatStoreTest, DeletingAChatRemovesItsMessagesOnly) {
    auto store = ChatStore::open(db_path());
    ASSERT_TRUE(store.ok()) << store.error().message;
    int64_t a = *(*store)->create_chat("a", "");
    int64_t b = *(*store)->create_chat("b", "");
    ASSERT_TRUE((*store)->append_message(a, assistant_reply()).ok());
    ASSERT_TRUE((*store)->append_message(b, assistant_reply()).ok());
    ASSERT_TRUE((*store)->delete_chat(a).ok());
    EXPECT_EQ((*store)->delete_chat(a).error().code, gemma::ErrorCode::not_found);
    EXPECT_EQ((*store)->messages(a).error().code, gemma::ErrorCode::not_found);
    EXPECT_EQ((*store)->append_message(a, assistant_reply()).error().code,
              gemma::ErrorCode::not_found);
    auto chats = (*store)->list_chats();
    ASSERT_TRUE(chats.ok());
    ASSERT_EQ(chats->size(), 1u);
    EXPECT_EQ((*chats)[0].id, b);
    EXPECT_EQ((*store)->messages(b)->size(), 1u);
    // The messages row is gone too, not just hidden: count it with the plain API.
    store->reset();
    sqlite3 * db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt * st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST_F(ChatStoreTest, GarbageFileIsRefusedAndLeftUntouched) {
    std::string garbage(8192, '\0');
    for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = char((i * 131 + 7) & 0xff);
    write_bytes(db_path(), garbage);
    auto store = ChatStore::open(db_path());
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, gemma::ErrorCode::corrupt_file);
    EXPECT_NE(store.error().message.find(db_path()), std::string::npos) << store.error().message;
    EXPECT_NE(store.error().message.find("untouched"), std::string::npos) << store.error().message;
    EXPECT_EQ(read_bytes(db_path()), garbage);
    EXPECT_EQ(fs::directory_iterator(dir_)->path().filename(), "chats.db");  // nothing created
}

TEST_F(ChatStoreTest, DamagedPagesAreRefusedAndLeftUntouched) {
    {
        auto store = ChatStore::open(db_path());
        ASSERT_TRUE(store.ok()) << store.error().message;
        int64_t id = *(*store)->create_chat("long", "");
        StoredMessage m = assistant_reply();
        m.content = std::string(3000, 'x');
        for (int i = 0; i < 40; ++i) ASSERT_TRUE((*store)->append_message(id, m).ok());
    }
    std::string bytes = read_bytes(db_path());
    ASSERT_GT(bytes.size(), 4096u * 8);
    for (size_t i = 4096 * 3; i < 4096 * 6; ++i) bytes[i] = char(0xA5);  // smash b-tree pages
    write_bytes(db_path(), bytes);
    auto store = ChatStore::open(db_path());
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, gemma::ErrorCode::corrupt_file);
    EXPECT_NE(store.error().message.find("damaged"), std::string::npos) << store.error().message;
    EXPECT_EQ(read_bytes(db_path()), bytes);
}

TEST_F(ChatStoreTest, AnotherProgramsDatabaseIsRefused) {
    raw_exec(db_path(), "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');");
    std::string before = read_bytes(db_path());
    auto store = ChatStore::open(db_path());
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, gemma::ErrorCode::invalid_argument);
    EXPECT_NE(store.error().message.find("another program"), std::string::npos);
    EXPECT_EQ(read_bytes(db_path()), before);
}

TEST_F(ChatStoreTest, NewerSchemaIsRefused) {
    raw_exec(db_path(), "PRAGMA user_version = 999");
    std::string before = read_bytes(db_path());
    auto store = ChatStore::open(db_path());
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().code, gemma::ErrorCode::invalid_argument);
    EXPECT_NE(store.error().message.find("newer GemDesk"), std::string::npos);
    EXPECT_EQ(read_bytes(db_path()), before);
}

}  // namespace
}  // namespace gemdesk::storage
