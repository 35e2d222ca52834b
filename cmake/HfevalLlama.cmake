# HfevalLlama.cmake - find or build the pinned llama.cpp.
#
# In this order:
#   -DHFEVAL_LLAMA_DIR=SRC    a llama.cpp source tree, built into the cache
#   find_package(llama)       an installed llama.cpp (tools looked up on PATH)
#   scripts/llama.sh          the release bundle in node-llama-cpp@3.22.1,
#                             verified to be commit de3ff815..., cached in
#                             ${XDG_CACHE_HOME:-~/.cache}/hfeval
# Defines the imported target hfeval::llama (libllama + ggml, with headers
# llama.h, ggml.h, gguf.h), HFEVAL_LLAMA_COMMIT, HFEVAL_LLAMA_BIN (where
# llama-server, llama-quantize, llama-perplexity and llama-bench are, or
# empty) and HFEVAL_LLAMA_VOCAB (a vocab-only GGUF for the fixtures).

set(HFEVAL_LLAMA_DIR "" CACHE PATH "llama.cpp source tree to build instead of the pinned release")
option(HFEVAL_LLAMA_NATIVE "build llama.cpp for this CPU (GGML_NATIVE)" ON)
option(HFEVAL_LLAMA_SYSTEM "accept an installed llama.cpp found by find_package" ON)

set(_native OFF)
if(HFEVAL_LLAMA_NATIVE)
    set(_native ON)
endif()

function(_hfeval_llama_script)
    set(args --native ${_native} ${ARGN})
    string(REPLACE ";" " " _shown "${args}")
    set(_first "about 5 minutes on 2 cores")
    if(_shown MATCHES "--variant (cuda|rocm)")
        # 143 CUDA files for one architecture took 91 minutes on 2 cores,
        # shared with other work
        set(_first "an hour or more on 2 cores, for each GPU architecture")
    endif()
    message(STATUS "llama.cpp: scripts/llama.sh ${_shown} (first build: ${_first}; cached afterwards)")
    execute_process(
        COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/llama.sh ${args}
        OUTPUT_VARIABLE out
        RESULT_VARIABLE rc
        OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "llama.cpp: scripts/llama.sh failed (see the messages above)")
    endif()
    string(REGEX REPLACE ".*\n" "" prefix "${out}")
    set(HFEVAL_LLAMA_PREFIX "${prefix}" PARENT_SCOPE)
endfunction()

set(HFEVAL_LLAMA_PREFIX "")
set(HFEVAL_LLAMA_SRC "")
set(HFEVAL_LLAMA_FROM bundle)
if(HFEVAL_LLAMA_DIR)
    set(HFEVAL_LLAMA_FROM dir)
    _hfeval_llama_script(--src ${HFEVAL_LLAMA_DIR})
    set(HFEVAL_LLAMA_SRC "${HFEVAL_LLAMA_DIR}")
else()
    if(HFEVAL_LLAMA_SYSTEM)
        find_package(llama CONFIG QUIET)
    endif()
    if(llama_FOUND)
        message(STATUS "llama.cpp: using the installed package (${llama_DIR})")
        set(HFEVAL_LLAMA_FROM system)
        add_library(hfeval::llama INTERFACE IMPORTED)
        target_link_libraries(hfeval::llama INTERFACE llama ggml::ggml ggml::ggml-base)
        add_library(hfeval::ggml_base INTERFACE IMPORTED)
        target_link_libraries(hfeval::ggml_base INTERFACE ggml::ggml-base)
        find_program(_hfeval_llama_server llama-server NO_CACHE)
        if(_hfeval_llama_server)
            get_filename_component(HFEVAL_LLAMA_BIN "${_hfeval_llama_server}" DIRECTORY)
        endif()
        set(HFEVAL_LLAMA_COMMIT "${LLAMA_BUILD_COMMIT}")
    else()
        _hfeval_llama_script()
    endif()
endif()

if(HFEVAL_LLAMA_PREFIX)
    set(_p "${HFEVAL_LLAMA_PREFIX}")
    foreach(lib llama ggml ggml-base)
        find_library(_hfeval_lib_${lib} NAMES ${lib} PATHS ${_p}/lib NO_DEFAULT_PATH NO_CACHE)
        if(NOT _hfeval_lib_${lib})
            message(FATAL_ERROR "llama.cpp: lib${lib}.so missing in ${_p}/lib; remove ${_p} and reconfigure")
        endif()
    endforeach()
    add_library(hfeval::llama INTERFACE IMPORTED)
    target_include_directories(hfeval::llama INTERFACE ${_p}/include)
    target_link_libraries(hfeval::llama INTERFACE
        ${_hfeval_lib_llama} ${_hfeval_lib_ggml} ${_hfeval_lib_ggml-base})
    # gguf.h alone (GGUF metadata): ggml-base, as ggml's own tools link it
    add_library(hfeval::ggml_base INTERFACE IMPORTED)
    target_include_directories(hfeval::ggml_base INTERFACE ${_p}/include)
    target_link_libraries(hfeval::ggml_base INTERFACE ${_hfeval_lib_ggml-base})
    set(HFEVAL_LLAMA_BIN "${_p}/bin")
    file(STRINGS ${_p}/BUILD-INFO _c REGEX "^commit=")
    string(REPLACE "commit=" "" HFEVAL_LLAMA_COMMIT "${_c}")
    # the prefix's own lib dir, for RUNPATHs of what links it
    set(HFEVAL_LLAMA_LIBDIR "${_p}/lib")
    if(NOT HFEVAL_LLAMA_SRC)
        set(HFEVAL_LLAMA_SRC "${_p}/../../src/llama.cpp-${HFEVAL_LLAMA_COMMIT}")
    endif()
endif()

# A vocab-only GGUF with a real tokenizer, for the fixture models.
find_file(HFEVAL_LLAMA_VOCAB ggml-vocab-llama-spm.gguf
    PATHS ${HFEVAL_LLAMA_SRC}/models NO_DEFAULT_PATH NO_CACHE)
message(STATUS "llama.cpp: commit ${HFEVAL_LLAMA_COMMIT}, tools in '${HFEVAL_LLAMA_BIN}', vocab '${HFEVAL_LLAMA_VOCAB}'")

# hfeval_llama_variant(cuda|rocm ARGS...): the static GPU build of the same
# llama.cpp (its own cached prefix) into HFEVAL_LLAMA_<variant>_PREFIX.
function(hfeval_llama_variant variant)
    if(HFEVAL_LLAMA_DIR)
        _hfeval_llama_script(--src ${HFEVAL_LLAMA_DIR} ${ARGN})
    elseif(HFEVAL_LLAMA_FROM STREQUAL "system")
        message(FATAL_ERROR "llama.cpp: the ${variant} module needs llama.cpp's source "
            "(the pinned bundle, or -DHFEVAL_LLAMA_DIR); an installed llama.cpp "
            "cannot be linked into it (-DHFEVAL_LLAMA_SYSTEM=OFF)")
    else()
        _hfeval_llama_script(${ARGN})
    endif()
    if(NOT EXISTS ${HFEVAL_LLAMA_PREFIX}/LINK)
        message(FATAL_ERROR "llama.cpp: ${HFEVAL_LLAMA_PREFIX} has no LINK file "
            "(built by an older scripts/llama.sh): remove it and reconfigure")
    endif()
    set(HFEVAL_LLAMA_${variant}_PREFIX ${HFEVAL_LLAMA_PREFIX} PARENT_SCOPE)
endfunction()
