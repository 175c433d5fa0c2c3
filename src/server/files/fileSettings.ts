/** What an operator sets for file transfer (SFTP_ENABLED, SFTP_MAX_FILE_BYTES, SFTP_MAX_TRANSFERS). */
export interface FileSettings {
  enabled: boolean;
  /** Largest file an upload may create or a download may send (0: no files at all). */
  maxFileBytes: number;
  /** Transfers one terminal may run at once. */
  maxTransfers: number;
}
