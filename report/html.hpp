#pragma once

#include <string>
#include <string_view>

namespace pipeline::report::html {

// `text` safe as HTML element content and as a quoted attribute value: & < > " '
// become character references, so markup, <script> or </style> in a model's
// or a document's text shows as text. Bytes that are not valid UTF-8 become
// U+FFFD and control characters other than tab and line breaks are dropped,
// so no parser meets them.
std::string escape(std::string_view text);

// `<tag class="...">escaped text</tag>`; no class attribute when `css_class` is empty.
std::string element(std::string_view tag, std::string_view text, std::string_view css_class = {});

// `table_html` in a box that scrolls it sideways when it is wider than the
// page, named `label` for a screen reader and focusable so that a keyboard
// can scroll it too (the box's CSS is the page's: class "scroll-box").
std::string scroll_box(std::string_view table_html, std::string_view label);

// The Markdown that stages/markdown.hpp writes, as HTML: headings (shifted
// down by `heading_shift` levels, at most h6), paragraphs, `> ` quotes, bullet
// and numbered lists, pipe tables, **strong** and *emphasis*. Every character
// of the text is escaped: Markdown is the only markup read from it.
std::string from_markdown(std::string_view markdown, int heading_shift = 0);

// The file name of a document's source, without the folders of the machine
// that ran it, or the last segment of a URL without its query: what a page
// that is forwarded shows; the full value stays in the checkpoint.
std::string file_name(std::string_view source);

}  // namespace pipeline::report::html
