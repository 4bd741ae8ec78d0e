# Embeds app/storage/migrations/NNN_*.sql into gemma_app as string literals, regenerated at build
# time whenever a .sql file changes, so the binary needs no files next to it at run time.
file(GLOB gemma_migration_files CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/migrations/*.sql)
list(SORT gemma_migration_files)
string(REPLACE ";" "|" gemma_migration_arg "${gemma_migration_files}")
set(gemma_migrations_cpp ${CMAKE_CURRENT_BINARY_DIR}/generated/storage/migrations_sql.cpp)
add_custom_command(
    OUTPUT ${gemma_migrations_cpp}
    COMMAND ${CMAKE_COMMAND} -DOUT=${gemma_migrations_cpp} -DSQL_FILES=${gemma_migration_arg}
            -P ${CMAKE_CURRENT_LIST_DIR}/embed_migrations_gen.cmake
    DEPENDS ${gemma_migration_files} ${CMAKE_CURRENT_LIST_DIR}/embed_migrations_gen.cmake
    COMMENT "Embedding SQL migrations"
    VERBATIM)
target_sources(gemma_app PRIVATE ${gemma_migrations_cpp})
