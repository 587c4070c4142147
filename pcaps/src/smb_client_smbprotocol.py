#!/usr/bin/env python3
"""SMB2/3 client for pcaps/it_smb.pcap, on smbprotocol's low-level API.

An engineering workstation on the plant's file server: NTLM login, tree
connect to \\SERVER\projects, a directory listing, the download of a PLC
project file (Line3.ap17), the upload of another (Boiler.ACD), a read of
readme.txt, an open of a file that is not there (STATUS_OBJECT_NAME_NOT_FOUND),
then close, tree disconnect, logoff and TCP close. Encryption stays off
(require_encryption=False; the server does not ask for it), so names and file
contents are in the clear; messages are signed, as smbprotocol requires.
"""
import argparse
import sys
import uuid

from smbprotocol.connection import Connection
from smbprotocol.exceptions import NoMoreFiles, ObjectNameNotFound
from smbprotocol.file_info import FileInformationClass
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    DirectoryAccessMask,
    FileAttributes,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

# the PLC project file that is uploaded: a few KB of text, as an .ACD export looks
BOILER_ACD = b"".join(b"RUNG %04d: XIC(Boiler.Flame_OK) OTE(Boiler.Fuel_Valve);\r\n" % i for i in range(70))


def open_file(tree, name, write=False):
    """CREATE of a file in the share: open an existing one, or (write) create/overwrite it."""
    f = Open(tree, name)
    if write:
        access = FilePipePrinterAccessMask.GENERIC_WRITE | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
        disposition = CreateDisposition.FILE_OVERWRITE_IF
    else:
        access = FilePipePrinterAccessMask.GENERIC_READ
        disposition = CreateDisposition.FILE_OPEN
    f.create(ImpersonationLevel.Impersonation, access, FileAttributes.FILE_ATTRIBUTE_NORMAL,
             ShareAccess.FILE_SHARE_READ, disposition, CreateOptions.FILE_NON_DIRECTORY_FILE)
    return f


def read_all(f):
    """READs of the whole file, at most 64 KiB each."""
    data = b""
    while len(data) < f.end_of_file:
        data += f.read(len(data), min(65536, f.end_of_file - len(data)))
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=445)
    ap.add_argument("--user", default="plantsmb")
    ap.add_argument("--password", required=True)
    ap.add_argument("--share", default="projects")
    args = ap.parse_args()

    # NEGOTIATE (smbprotocol offers 2.0.2 to 3.1.1; the server picks), then SESSION_SETUP
    # with SPNEGO/NTLMSSP (no Kerberos here).
    conn = Connection(uuid.uuid4(), args.server, args.port, require_signing=True)
    conn.connect()
    print(f"dialect 0x{conn.dialect:04x}")
    session = Session(conn, args.user, args.password, require_encryption=False, auth_protocol="negotiate")
    session.connect()
    tree = TreeConnect(session, rf"\\{args.server}\{args.share}")
    tree.connect()
    print(f"tree {tree.share_name}: encrypt={tree.encrypt_data} session encrypt={session.encrypt_data}")

    # directory listing: CREATE of the share's root, QUERY_DIRECTORY until STATUS_NO_MORE_FILES
    root = Open(tree, "")
    root.create(ImpersonationLevel.Impersonation,
                DirectoryAccessMask.FILE_LIST_DIRECTORY | DirectoryAccessMask.FILE_READ_ATTRIBUTES,
                FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
                ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE,
                CreateDisposition.FILE_OPEN, CreateOptions.FILE_DIRECTORY_FILE)
    names = []
    try:
        while True:
            for entry in root.query_directory("*", FileInformationClass.FILE_DIRECTORY_INFORMATION):
                names.append(entry["file_name"].get_value().decode("utf-16-le"))
    except NoMoreFiles:
        pass
    root.close()
    print("listing:", " ".join(sorted(names)))

    # download of the PLC project file
    f = open_file(tree, "Line3.ap17")
    project = read_all(f)
    f.close()
    print(f"Line3.ap17: {len(project)} bytes")

    # upload of another one
    f = open_file(tree, "Boiler.ACD", write=True)
    f.write(BOILER_ACD, 0)
    f.close()
    print(f"Boiler.ACD: {len(BOILER_ACD)} bytes written")

    f = open_file(tree, "readme.txt")
    print("readme.txt:", read_all(f).decode().strip())
    f.close()

    # a file that is not there: the server answers CREATE with STATUS_OBJECT_NAME_NOT_FOUND
    try:
        open_file(tree, "Line4.ap17")
        sys.exit("Line4.ap17 opened, but it should not exist")
    except ObjectNameNotFound:
        print("Line4.ap17: STATUS_OBJECT_NAME_NOT_FOUND")

    # TREE_DISCONNECT, LOGOFF, then the TCP connection is closed
    tree.disconnect()
    session.disconnect()
    conn.disconnect()


if __name__ == "__main__":
    main()
