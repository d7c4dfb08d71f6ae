using System.CommandLine;
using Spectre.Console;
using Tally.Cli.Bench;

namespace Tally.Cli;

/// <summary>
/// The <c>tally</c> command. Exit codes: 0 success; 1 the command ran and failed (a check found a
/// difference, a job failed, Tally could not be reached); 2 the command line was wrong (unknown
/// command or option, a bad value) — nothing was done.
/// </summary>
internal static class TallyCli
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        var root = Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
            Console.Error.WriteLine($"Run '{string.Join(' ', parse.CommandResult.Command.Name == root.Name ? ["tally"] : CommandPath(parse))} --help' for usage.");
            return Usage;
        }
        try
        {
            return await parse.InvokeAsync();
        }
        catch (CliException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return Failed;
        }
        catch (HttpRequestException ex)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] Tally could not be reached: {ex.Message}");
            return Failed;
        }
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("tally: load, benchmark, verify and maintain a Tally cluster.");
        root.Options.Add(CliContext.UrlOption);
        root.Options.Add(CliContext.AdminKeyOption);
        root.Options.Add(CliContext.PostgresOption);
        root.Options.Add(CliContext.RedisOption);
        root.Subcommands.Add(BenchCommands.Build());
        root.Subcommands.Add(Verify.VerifyCommands.Build());
        foreach (var command in Maintain.MaintainCommands.Build()) root.Subcommands.Add(command);
        foreach (var command in Maintain.ExportCommands.Build()) root.Subcommands.Add(command);
        root.Subcommands.Add(Maintain.JobsCommand.Build());
        root.Subcommands.Add(Profiles.DemoCommand.Build());
        root.Subcommands.Add(Profiles.CompatCommand.Build());
        root.Subcommands.Add(Loading.ImportCommand.Build());
        return root;
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, result.Command is RootCommand ? "tally" : result.Command.Name);
        return names;
    }

    /// <summary>A positive whole-number option with a default and a validator naming it.</summary>
    public static Option<int> Positive(string name, int fallback, string description)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => fallback };
        Require(option, value => value > 0, $"{name} must be a positive whole number.");
        return option;
    }

    /// <summary>Adds a rule for an option's value; a value that did not parse is left to the parser's own error.</summary>
    public static void Require<T>(Option<T> option, Func<T, bool> rule, string message) =>
        option.Validators.Add(result =>
        {
            T value;
            try
            {
                value = result.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                return; // not a T: the parser reports it
            }
            if (!rule(value)) result.AddError(message);
        });
}
