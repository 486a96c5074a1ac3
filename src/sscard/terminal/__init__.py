"""Terminal side: readers (virtual, PC/SC) and terminal operations on social-security cards via a PSAM."""

from sscard.terminal.holder import CardInfo, decode_basic, tlv_records
from sscard.terminal.reader import PcscError, PcscReader, Reader, VirtualReader, list_pcsc_readers
from sscard.terminal.terminal import CardNotGenuine, PinBlocked, Terminal, TerminalError, WrongPin

__all__ = [
    "CardInfo",
    "CardNotGenuine",
    "PcscError",
    "PcscReader",
    "PinBlocked",
    "Reader",
    "Terminal",
    "TerminalError",
    "VirtualReader",
    "WrongPin",
    "decode_basic",
    "list_pcsc_readers",
    "tlv_records",
]
