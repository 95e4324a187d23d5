;; Loaded before a program by the scheme-mit entry (languages.toml). MIT Scheme reports an error by
;; entering a nested REPL on the console, which is the program's stdout; this hook reports it on
;; stderr and exits with status 14, the status MIT Scheme gives when that REPL meets the end of input.
(set! standard-error-hook
      (lambda (condition)
        (let ((port (open-output-file "/dev/stderr" #t)))
          (write-string (condition/report-string condition) port)
          (newline port)
          (close-port port))
        (exit 14)))
