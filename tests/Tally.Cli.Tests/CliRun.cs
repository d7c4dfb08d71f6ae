using Spectre.Console;

namespace Tally.Cli.Tests;

/// <summary>Runs <c>tally</c> in process with the console captured: standard output (where Spectre writes too, without
/// colours or wrapping) and standard error apart. Tests using it share the "console" collection.</summary>
internal static class CliRun
{
    public static async Task<(int Exit, string Out, string Error)> RunAsync(params string[] args)
    {
        var (oldOut, oldError, oldAnsi) = (Console.Out, Console.Error, AnsiConsole.Console);
        using var output = new StringWriter();
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        // Spectre keeps the writer it first saw: give it this run's, then the old one back.
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
        { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        AnsiConsole.Console.Profile.Width = 1000;
        try
        {
            var exit = await TallyCli.RunAsync(args);
            return (exit, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
            AnsiConsole.Console = oldAnsi;
        }
    }
}
