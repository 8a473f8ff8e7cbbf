# Generates a C++ source holding every migrations/NNNN_name.sql file, sorted by name, so the
# binary carries its schema and `flashbill migrate` needs no files on disk.
file(GLOB files "${DIR}/*.sql")
list(SORT files)
set(body "#include \"db/migrations_data.hpp\"\nnamespace flashbill::db {\nconst std::vector<EmbeddedMigration>& embedded_migrations() {\n  static const std::vector<EmbeddedMigration> all = {\n")
foreach(f ${files})
  get_filename_component(name "${f}" NAME)
  file(READ "${f}" sql)
  string(APPEND body "    {\"${name}\", R\"fb_sql(${sql})fb_sql\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n}  // namespace flashbill::db\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
