# Embeds docs/openapi.yaml as a string; the server converts it to JSON once at startup.
file(READ "${IN}" doc)
set(body "#include <string_view>\nnamespace flashbill::app {\nextern const std::string_view kOpenApiYaml;\nconst std::string_view kOpenApiYaml = R\"fb_yaml(${doc})fb_yaml\";\n}\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
