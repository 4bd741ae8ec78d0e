// The chat database's schema migrations: app/storage/migrations/NNN_*.sql, embedded at build time
// (embed_migrations.cmake). Version N brings a database from user_version N-1 to N.
#pragma once

#include <span>

namespace gemdesk::storage {

struct Migration {
    int version;        // the file's number; PRAGMA user_version after it ran
    const char * name;  // "001_init.sql"
    const char * sql;
};

// Ascending by version, numbered 1, 2, 3... without gaps.
std::span<const Migration> migrations();

}  // namespace gemdesk::storage
