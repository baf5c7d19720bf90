"""The standard-library template instantiations C++ programs get from `libhe.a` instead of compiling their own.

The precompiled header declares each `extern template` and `libhe.a` (built once in the tool cache from
these declarations only, never from sample code) holds the explicit instantiation definitions. At -O0 g++
then neither instantiates nor emits them per program. Measured per program on 40 canonical solutions
(compile + link, CPU s, no sandbox): 0.155 with the plain header; 0.116 with the vectors and string
constructors below; 0.111 with the conversions behind std::stoi & co. as well; 0.107 with the vectors'
bases and allocators too. Which lists: the element types the 164 canonical solutions put in vectors most
(int in 58 of them, std::string in 21, float in 13, vector<int> in 5, ...), std::string's constructors
from character pointers (77), and the 16 conversions that the header's inline std::stoi ... std::stold
(char and wchar_t) made EVERY program instantiate, used or not (with the wide strings' constructors,
a third of the 768 instantiations an empty program made).

Some names are libstdc++ internals (`__gnu_cxx::__stoa`, `std::__new_allocator` of GCC 12): TIERS lists the
fallbacks `Cpp.prepare` tries in order when a g++ does not accept a list.
"""

from __future__ import annotations

VECTOR_TYPES = ("int", "float", "double", "long long", "char", "std::string", "std::vector<int>")

_CONVERSIONS = (("int", "long"), ("long", "long"), ("unsigned long", "unsigned long"), ("long long", "long long"),
                ("unsigned long long", "unsigned long long"))  # (result, what strtol & co. return)
STOA = tuple(
    f"{ret} __gnu_cxx::__stoa<{conv}, {ret}, {char}, int>({conv} (*)(const {char}*, {char}**, int), const char*, "
    f"const {char}*, std::size_t*, int)"
    for ret, conv in _CONVERSIONS for char in ("char", "wchar_t")
) + tuple(
    f"{t} __gnu_cxx::__stoa<{t}, {t}, {char}>({t} (*)(const {char}*, {char}**), const char*, const {char}*, "
    "std::size_t*)"
    for t in ("float", "double", "long double") for char in ("char", "wchar_t")
)
CONSTRUCT = tuple(
    f"void std::{s}::_M_construct<{p}>({p}, {p}, std::forward_iterator_tag)"
    for s, p in (("string", "const char*"), ("string", "char*"), ("wstring", "const wchar_t*"),
                 ("wstring", "wchar_t*"), ("u16string", "const char16_t*"), ("u32string", "const char32_t*"))
) + ("std::string::basic_string(const char*, const std::allocator<char>&)",)
VECTORS = tuple(f"class std::vector<{t}>" for t in VECTOR_TYPES)
BASES = tuple(
    f"class std::{base}<{t}{', std::allocator<' + t + '>' if base == '_Vector_base' else ''}>"
    for t in VECTOR_TYPES for base in ("_Vector_base", "allocator", "__new_allocator")
)
EXTERN = VECTORS + BASES + CONSTRUCT + STOA
# What prepare tries, in order: everything; only the public class templates; nothing.
TIERS = (EXTERN, VECTORS, ())
