using System.CommandLine;

namespace Tally.Cli;

/// <summary>
/// Where Tally is and how to reach it, for every command: each setting from its option, else the
/// environment, else <c>.tally/local.env</c> (written by <c>deploy/local/up</c>), else an error that says so.
/// </summary>
internal sealed class CliContext
{
    public static readonly Option<string?> UrlOption = new("--url") { Description = "The API's base URL (else TALLY_URL).", Recursive = true };
    public static readonly Option<string?> AdminKeyOption = new("--admin-key") { Description = "The cluster admin key (else TALLY_ADMIN_KEY).", Recursive = true };
    public static readonly Option<string?> PostgresOption = new("--pg") { Description = "PostgreSQL connection string (else TALLY_PG).", Recursive = true };
    public static readonly Option<string?> RedisOption = new("--redis") { Description = "Redis endpoint (else TALLY_REDIS).", Recursive = true };

    private readonly Dictionary<string, string> _env = new(StringComparer.Ordinal);
    private readonly ParseResult _parse;

    public CliContext(ParseResult parse)
    {
        _parse = parse;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Orleans.sln"))) continue;
            RepoRoot = dir.FullName;
            var file = Path.Combine(dir.FullName, ".tally", "local.env");
            if (File.Exists(file))
                foreach (var line in File.ReadAllLines(file))
                {
                    var eq = line.IndexOf('=');
                    if (eq > 0) _env[line[..eq]] = line[(eq + 1)..].Trim('"');
                }
            break;
        }
    }

    /// <summary>The repository checkout the command runs in (docs are written there), else the current directory.</summary>
    public string RepoRoot { get; } = Directory.GetCurrentDirectory();

    public string Url => Setting(UrlOption, "TALLY_URL");
    public string AdminKey => Setting(AdminKeyOption, "TALLY_ADMIN_KEY");
    public string Postgres => Setting(PostgresOption, "TALLY_PG");
    public string Redis => Setting(RedisOption, "TALLY_REDIS");

    /// <summary>A setting from the environment or .tally/local.env, or null: for figures a command can do without.</summary>
    public string? Optional(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } fromEnv ? fromEnv
        : _env.TryGetValue(variable, out var fromFile) ? fromFile : null;

    private string Setting(Option<string?> option, string variable) =>
        _parse.GetValue(option) is { Length: > 0 } fromOption ? fromOption
        : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } fromEnv ? fromEnv
        : _env.TryGetValue(variable, out var fromFile) ? fromFile
        : throw new CliException($"{variable} is not set: pass {option.Name}, export {variable}, or run deploy/local/up (which writes .tally/local.env).");
}

/// <summary>A failure to report in one line (exit code 1), not a crash.</summary>
internal sealed class CliException(string message) : Exception(message);
