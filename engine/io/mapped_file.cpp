// Read-only mmap of a file (POSIX).
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gemma::io {

MappedFile::~MappedFile() {
    if (data_ != nullptr) munmap(data_, size_);
}

Result<std::shared_ptr<MappedFile>> map_file(const std::string & path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::invalid_argument,
                          format("cannot open '%s': %s", path.c_str(), std::strerror(err)));
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(ErrorCode::invalid_argument,
                          format("'%s' is not a regular file", path.c_str()));
    }
    std::shared_ptr<MappedFile> file(new MappedFile());
    file->path_ = path;
    file->size_ = size_t(st.st_size);
    if (file->size_ > 0) {
        void * p = mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            ::close(fd);
            return make_error(ErrorCode::out_of_memory,
                              format("cannot map '%s' (%zu bytes): %s", path.c_str(), file->size_,
                                     std::strerror(err)));
        }
        file->data_ = static_cast<unsigned char *>(p);
    }
    ::close(fd);
    return file;
}

}  // namespace gemma::io
