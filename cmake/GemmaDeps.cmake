# Third-party dependencies, all from Debian 12 packages (installer/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(HWY REQUIRED IMPORTED_TARGET GLOBAL libhwy)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET GLOBAL openblas)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET GLOBAL sentencepiece)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
find_package(nlohmann_json 3 REQUIRED GLOBAL)
find_package(SQLite3 REQUIRED GLOBAL)
# Image and video codecs. Only the codec module (engine/media/codecs, dlopen()ed on first use) and
# tests that write media fixtures link this: it pulls in ~150 libraries (gdal, ffmpeg, gstreamer).
# Debian's component -dev packages ship no OpenCVConfig.cmake (that comes with libopencv-dev),
# so fall back to the headers and libraries themselves.
set(gemma_opencv_components core imgproc imgcodecs videoio)
find_package(OpenCV QUIET COMPONENTS ${gemma_opencv_components})
add_library(gemma_opencv INTERFACE)
if(OpenCV_FOUND)
    target_link_libraries(gemma_opencv INTERFACE ${OpenCV_LIBS})
    target_include_directories(gemma_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
else()
    find_path(GEMMA_OPENCV_INCLUDE opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
    target_include_directories(gemma_opencv SYSTEM INTERFACE ${GEMMA_OPENCV_INCLUDE})
    foreach(c IN LISTS gemma_opencv_components)
        find_library(GEMMA_OPENCV_${c} opencv_${c} REQUIRED)
        target_link_libraries(gemma_opencv INTERFACE ${GEMMA_OPENCV_${c}})
    endforeach()
endif()
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET GLOBAL sndfile)
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET GLOBAL soxr)
