"""A small DER reader and writer, so fuzzers can damage certificates by their structure, not only their bytes."""

from __future__ import annotations

from dataclasses import dataclass, field

SEQUENCE, SET, OCTET_STRING, NULL = 0x30, 0x31, 0x04, 0x05


@dataclass
class Node:
    """One TLV: a constructed node has children; an OCTET STRING that holds DER has them too (encapsulated)."""

    tag: bytes
    value: bytes = b""
    children: list[Node] | None = None
    encapsulated: bool = False
    long_length: int = field(default=0)  # extra length octets: a valid BER, invalid DER length
    raw: bool = False  # `value` is written as it is, header and all (deep nesting, broken encodings)

    def encode(self) -> bytes:
        if self.raw:
            return self.value
        content = b"".join(child.encode() for child in self.children) if self.children is not None else self.value
        return self.tag + encode_length(len(content), self.long_length) + content

    def walk(self) -> list[Node]:
        """This node and every node below it, parents first."""
        nodes = [self]
        for child in self.children or ():
            nodes.extend(child.walk())
        return nodes


def encode_length(length: int, extra: int = 0) -> bytes:
    if length < 0x80 and not extra:
        return bytes([length])
    octets = length.to_bytes(max(1, (length.bit_length() + 7) // 8) + extra, "big")
    return bytes([0x80 | len(octets)]) + octets


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(content)) + content


def _read_header(data: bytes, at: int) -> tuple[bytes, int, int]:
    """(identifier octets, content length, where the content starts); ValueError when it does not parse."""
    if at >= len(data):
        raise ValueError("no tag")
    tag_end = at + 1
    if data[at] & 0x1F == 0x1F:  # a high tag number: base-128 octets follow
        while tag_end < len(data) and data[tag_end] & 0x80:
            tag_end += 1
        tag_end += 1
    if tag_end >= len(data):
        raise ValueError("no length")
    first, start = data[tag_end], tag_end + 1
    if first < 0x80:
        length = first
    elif first == 0x80 or first > 0x84:
        raise ValueError("indefinite or huge length")
    else:
        length = int.from_bytes(data[start : start + (first & 0x7F)], "big")
        start += first & 0x7F
    if start + length > len(data):
        raise ValueError("content runs past the end")
    return data[at:tag_end], length, start


def parse(data: bytes) -> Node:
    """Parse exactly one TLV spanning `data`; below MAX_DEPTH, content is kept whole (not split into children)."""
    node, end = _parse_at(data, 0, 0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return node


MAX_DEPTH = 64


def _parse_at(data: bytes, at: int, depth: int) -> tuple[Node, int]:
    tag, length, start = _read_header(data, at)
    content = data[start : start + length]
    end = start + length
    if depth >= MAX_DEPTH:
        return Node(tag, value=content), end
    if tag[0] & 0x20:  # constructed
        return Node(tag, children=_parse_all(content, depth + 1)), end
    if tag[0] == OCTET_STRING and content[:1] in (b"\x30", b"\x31", b"\x04"):
        try:
            return Node(tag, children=_parse_all(content, depth + 1), encapsulated=True), end
        except ValueError:
            pass
    return Node(tag, value=content), end


def _parse_all(content: bytes, depth: int) -> list[Node]:
    children, at = [], 0
    while at < len(content):
        child, at = _parse_at(content, at, depth)
        children.append(child)
    return children


def nested(depth: int, inner: bytes = b"\x05\x00", tag: int = SEQUENCE) -> bytes:
    """`depth` constructed headers around `inner`, each with its exact (definite) length."""
    headers, size = [], len(inner)
    for _ in range(depth):  # inside out; joined once, so a megabyte of headers costs linear time
        header = bytes([tag]) + encode_length(size)
        headers.append(header)
        size += len(header)
    return b"".join(reversed(headers)) + inner


def nested_indefinite(depth: int, inner: bytes = b"\x05\x00") -> bytes:
    """BER's indefinite form: `depth` open SEQUENCEs, then as many end-of-contents markers (not DER)."""
    return b"\x30\x80" * depth + inner + b"\x00\x00" * depth
