"""CSV imports of readers: the file sniffed and mapped, its lines checked and staged, settled in bulk (new
readers created, known ones left, suppressed ones refused), the report and the paced opt-in mails."""
