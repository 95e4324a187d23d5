(* Runs a Standard ML program of top-level declarations as a script: compiled and run one by one, in
   order, as the REPL and `poly --script` do (see [sml.script] in languages.toml):

     poly -q --error-exit --use sml-script.sml --eval 'PadboxScript.main ()' --padbox-script FILE ARG...

   Unlike `poly --script`, the compiler's messages and an uncaught exception go to stderr and end the
   program with status 1, and the program's CommandLine.arguments () are its own ARGs, not poly's.
   It never returns to poly's shell, which would read the program's stdin as ML. *)
structure PadboxScript =
struct
  val arguments : string list ref = ref []

  fun fail message = (TextIO.output (TextIO.stdErr, message); OS.Process.exit OS.Process.failure)

  fun after marker (x :: rest) = if x = marker then rest else after marker rest
    | after _ [] = []

  fun reader text =
    let val rest = ref (String.explode text)
    in fn () => case !rest of c :: more => (rest := more; SOME c) | [] => NONE
    end

  (* One top-level declaration from `next`, compiled and run in the global name space. *)
  fun compile (next, parameters) = PolyML.compiler (next, parameters) ()

  fun run (file, args) =
    let
      val input = TextIO.openIn file
      val line = ref 1
      fun next () =
        case TextIO.input1 input of
          SOME #"\n" => (line := !line + 1; SOME #"\n")
        | c => c
      val parameters =
        [ PolyML.Compiler.CPOutStream (fn s => TextIO.output (TextIO.stdErr, s)),
          PolyML.Compiler.CPFileName file,
          PolyML.Compiler.CPLineNo (fn () => !line) ]
      fun loop () = if TextIO.endOfStream input then () else (compile (next, parameters); loop ())
    in
      arguments := args;
      compile (reader "structure CommandLine : COMMAND_LINE = struct\n\
                      \  val name = CommandLine.name\n\
                      \  fun arguments () = !PadboxScript.arguments\n\
                      \end;", []);
      loop ()
    end

  fun main () : unit =
    case after "--padbox-script" (CommandLine.arguments ()) of
      file :: args =>
        (run (file, args)
           handle Fail "Static Errors" => fail ""
                | e => fail ("Exception- " ^ General.exnMessage e ^ " raised\n");
         OS.Process.exit OS.Process.success)
    | [] => fail "usage: --padbox-script FILE ARG...\n"
end;
