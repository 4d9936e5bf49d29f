{
  "targets": [{
    "target_name": "fmboost_native",
    "sources": ["src/addon.cc", "src/common.cc", "src/dispatch.cc", "src/tensor_api.cc", "src/generator.cc", "src/profiler.cc", "src/fused.cc", "src/distributed.cc"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node libtorch.cjs --include)", "shim"],
    "defines": ["NAPI_EXPERIMENTAL", "NAPI_CPP_EXCEPTIONS"],
    "cflags!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-fopenmp", "-Wno-unused-parameter", "<!@(node libtorch.cjs --cflags)"],
    "libraries": ["<!@(node libtorch.cjs --libs)", "-fopenmp"]
  }]
}
