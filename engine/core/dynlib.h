// Optional engine modules: shared libraries opened at run time (dlopen), so that a program pays
// for a heavy dependency (OpenCV's codecs, cuBLAS) only when it first uses the feature behind it.
#pragma once

#include <string>

#include "core/status.h"

namespace gemma {

// An opened module. Not owning: modules stay loaded until the process exits, because the objects
// they create (and the code that destroys them) may outlive any scope that could close them.
struct DynLib {
    void * handle = nullptr;
    std::string path;  // the candidate that opened
};

// Directory of the running executable, from /proc/self/exe; "" when it cannot be read.
std::string dynlib_exe_dir();

// Opens `file` with RTLD_NOW | RTLD_LOCAL (every symbol resolved up front, none leaked into the
// global namespace). A bare file name is searched in <exe dir>/../lib/, then <exe dir>/, then by
// dlopen's own rules (LD_LIBRARY_PATH, RUNPATH, the ld.so cache); a name containing '/' is opened
// as given. Thread-safe. Errors: not_found, naming every candidate with its dlerror().
Result<DynLib> dynlib_open(const std::string & file);

// Address of an exported symbol, or nullptr when the module does not export it.
void * dynlib_symbol_or_null(const DynLib & lib, const char * name);

}  // namespace gemma
