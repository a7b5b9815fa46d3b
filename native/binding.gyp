{
  "targets": [
    {
      "target_name": "accelab_blas",
      "sources": ["src/accelab_blas.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-ffp-contract=off"],
      "cflags_cc!": ["-fno-rtti", "-O2", "-O0"],
      "cflags!": ["-O2", "-O0"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I openblas | sed 's/-I//g')"],
      "libraries": ["<!@(pkg-config --libs openblas)"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
