"""The file transfer app: CFDP class 2 on the space link."""

from fsw.apps.file_transfer.app import FILE_PDU_MSG_ID, FileTransferApp

__all__ = ["FILE_PDU_MSG_ID", "FileTransferApp"]
