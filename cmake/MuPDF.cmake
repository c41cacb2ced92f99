# Debian's MuPDF 1.21 ships only static archives and a pkg-config file that
# misses harfbuzz and freetype, so the link line is spelled out here once.
find_path(MUPDF_INCLUDE_DIR mupdf/fitz.h REQUIRED)
find_library(MUPDF_LIBRARY NAMES libmupdf.a mupdf REQUIRED)
find_library(MUPDF_THIRD_LIBRARY NAMES libmupdf-third.a mupdf-third REQUIRED)
set(_mupdf_deps harfbuzz freetype jbig2dec openjp2 jpeg gumbo mujs z m)
set(_mupdf_dep_paths)
foreach(dep IN LISTS _mupdf_deps)
  find_library(MUPDF_DEP_${dep} NAMES ${dep} REQUIRED)
  list(APPEND _mupdf_dep_paths ${MUPDF_DEP_${dep}})
endforeach()
add_library(MuPDF::MuPDF INTERFACE IMPORTED)
set_target_properties(MuPDF::MuPDF PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${MUPDF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${MUPDF_LIBRARY};${MUPDF_THIRD_LIBRARY};${_mupdf_dep_paths}")
