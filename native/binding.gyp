{
  "targets": [
    {
      "target_name": "tunroute_native",
      "sources": ["src/addon.cc", "src/route_socket.cc", "src/errno_error.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='mac'", {
          "sources": ["src/platform_darwin.cc", "src/dynamic_store.cc"],
          "link_settings": {
            "libraries": ["-framework SystemConfiguration", "-framework CoreFoundation"]
          },
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "WARNING_CFLAGS": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
          }
        }],
        ["OS=='linux'", {
          "sources": ["src/platform_linux.cc"]
        }]
      ]
    }
  ]
}
