namespace Tally.Cli;

/// <summary>Parsed command line plus the local environment file written by <c>deploy/local/up</c>.</summary>
internal sealed class CliOptions
{
    private readonly Dictionary<string, string> _flags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _env = new(StringComparer.Ordinal);

    public string Verb { get; private set; } = "";
    public string SubVerb { get; private set; } = "";

    public static CliOptions Parse(string[] args)
    {
        var o = new CliOptions();
        var positional = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                var name = args[i][2..];
                var value = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
                o._flags[name] = value;
            }
            else positional.Add(args[i]);
        }
        o.Verb = positional.ElementAtOrDefault(0) ?? "";
        o.SubVerb = positional.ElementAtOrDefault(1) ?? "";
        o.LoadEnvFile();
        return o;
    }

    public int Int(string name, int fallback)
    {
        if (!_flags.TryGetValue(name, out var text)) return fallback;
        return int.TryParse(text, out var value) && value > 0 ? value : throw new CliException($"--{name} must be a positive integer, was '{text}'.");
    }

    public string? Flag(string name) => _flags.GetValueOrDefault(name);

    /// <summary>A setting from the environment, else from .tally/local.env.</summary>
    public string Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value
        : _env.TryGetValue(name, out var fromFile) ? fromFile
        : throw new CliException($"{name} is not set; run deploy/local/up first or export it.");

    public string RepoRoot { get; private set; } = Directory.GetCurrentDirectory();

    private void LoadEnvFile()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Orleans.sln"))) continue;
            RepoRoot = dir.FullName;
            var file = Path.Combine(dir.FullName, ".tally", "local.env");
            if (!File.Exists(file)) return;
            foreach (var line in File.ReadAllLines(file))
            {
                var eq = line.IndexOf('=');
                if (eq > 0) _env[line[..eq]] = line[(eq + 1)..].Trim('"');
            }
            return;
        }
    }
}
