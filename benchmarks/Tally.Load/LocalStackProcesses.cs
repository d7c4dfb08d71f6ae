using System.Globalization;

namespace Tally.Cli.Bench;

/// <summary>
/// Memory and CPU of the processes <c>deploy/local/up</c> started, read from <c>/proc</c>: the silos (their pids in
/// <c>.tally/run/silo*.pid</c>) and PostgreSQL (its data directory under <c>.tally/postgres</c>). Figures that cannot be
/// read (another machine, no such files) are null, never an error: the soak runs without them.
/// </summary>
internal sealed class LocalStackProcesses(string tallyHome)
{
    /// <summary>Linux reports CPU time in clock ticks of USER_HZ, which the kernel fixes at 100 for user space.</summary>
    private const double ClockTicksPerSecond = 100;
    private const double KbPerMb = 1024;

    private readonly Dictionary<int, (long Ticks, long At)> _lastCpu = new();

    /// <summary>Where <c>deploy/local/up</c> keeps its state: <c>TALLY_HOME</c> as lib.sh reads it, else the checkout's <c>.tally</c>.</summary>
    public static string HomeOf(string repoRoot) =>
        Environment.GetEnvironmentVariable("TALLY_HOME") is { Length: > 0 } home ? home : Path.Combine(repoRoot, ".tally");

    public IReadOnlyList<int> SiloPids() => SiloPidFiles().Select(s => s.Pid).ToList();

    /// <summary>Each running silo's pid file (<c>run/silo*.pid</c>, in name order) and pid.</summary>
    public IReadOnlyList<(string File, int Pid)> SiloPidFiles()
    {
        var run = Path.Combine(tallyHome, "run");
        if (!Directory.Exists(run)) return [];
        var silos = new List<(string, int)>();
        foreach (var file in Directory.GetFiles(run, "silo*.pid").Order(StringComparer.Ordinal))
            if (int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Directory.Exists($"/proc/{pid}"))
                silos.Add((file, pid));
        return silos;
    }

    /// <summary>
    /// The garbage collector settings the silos were started with (<c>DOTNET_GC…</c> variables of their environment,
    /// as <c>NAME=value</c>, sorted, each once), so a figure says which GC it was measured under. Empty when none is set
    /// or the environment cannot be read.
    /// </summary>
    public IReadOnlyList<string> SiloGcSettings() => SiloSettings("DOTNET_GC");

    /// <summary>The silos' environment variables that start with one of <paramref name="prefixes"/> (any case after it), as
    /// <c>NAME=value</c>, sorted, each once: the settings a figure was measured under (e.g. <c>Tally__UserGrain__…</c>).</summary>
    public IReadOnlyList<string> SiloSettings(params string[] prefixes) =>
        SiloPids().SelectMany(pid => SettingsOf(Read($"/proc/{pid}/environ"), prefixes)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>The <c>DOTNET_GC…</c> entries (any case after the prefix) of a NUL-separated environment block.</summary>
    public static IEnumerable<string> GcSettingsOf(string? environ) => SettingsOf(environ, "DOTNET_GC");

    private static IEnumerable<string> SettingsOf(string? environ, params string[] prefixes) =>
        (environ ?? "").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Where(entry => entry.Contains('=') && prefixes.Any(p => entry.StartsWith(p, StringComparison.OrdinalIgnoreCase)));

    /// <summary>The silos' RSS (MB, summed) and CPU (% of one core, summed) since the previous call; the first call
    /// gives the CPU since the previous one only from the second on, so call it once before the first window.</summary>
    public (double? RssMb, double? CpuPercent) Silos()
    {
        double? rssMb = null, cpu = null;
        var now = Environment.TickCount64;
        foreach (var pid in SiloPids())
        {
            if (StatusKb(pid, "VmRSS:") is { } kb) rssMb = (rssMb ?? 0) + kb / KbPerMb;
            if (CpuTicks(pid) is not { } ticks) continue;
            if (_lastCpu.TryGetValue(pid, out var last) && now > last.At)
                cpu = (cpu ?? 0) + (ticks - last.Ticks) / ClockTicksPerSecond / ((now - last.At) / 1000.0) * 100;
            _lastCpu[pid] = (ticks, now);
        }
        return (rssMb, cpu);
    }

    /// <summary>
    /// PostgreSQL's memory in MB: the postmaster and its children (backends rename themselves, so only the postmaster's
    /// command line names the data directory). Each process counts its proportional set size (PSS), so the shared
    /// buffers every backend maps count once, not once per backend as a sum of RSS would; RSS where PSS is not readable.
    /// </summary>
    public double? PostgresMb()
    {
        if (Postmaster() is not { } postmaster) return null;
        double kb = MemoryKb(postmaster) ?? 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != postmaster && ParentOf(pid) == postmaster)
                kb += MemoryKb(pid) ?? 0;
        return kb / KbPerMb;
    }

    private int? Postmaster()
    {
        // postmaster.pid's first line is the postmaster's pid; else look for a process started on the data directory.
        var pidFile = Path.Combine(tallyHome, "postgres", "data", "postmaster.pid");
        try
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Directory.Exists($"/proc/{pid}"))
                return pid;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        var dataDir = Path.GetFullPath(Path.Combine(tallyHome, "postgres"));
        if (!Directory.Exists("/proc")) return null;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            var command = Read(Path.Combine(dir, "cmdline"));
            if (command is not null && command.Contains(dataDir, StringComparison.Ordinal) && ParentOf(pid) is { } parent && !IsPostgresOn(parent, dataDir))
                return pid;
        }
        return null;
    }

    private static bool IsPostgresOn(int pid, string dataDir) => Read($"/proc/{pid}/cmdline")?.Contains(dataDir, StringComparison.Ordinal) == true;

    private static double? MemoryKb(int pid)
    {
        if (Read($"/proc/{pid}/smaps_rollup") is { } rollup && Field(rollup, "Pss:") is { } pss) return pss;
        return StatusKb(pid, "VmRSS:");
    }

    private static double? StatusKb(int pid, string field) => Read($"/proc/{pid}/status") is { } status ? Field(status, field) : null;

    private static double? Field(string text, string name)
    {
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(name, StringComparison.Ordinal)
                && double.TryParse(line[name.Length..].Trim().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                return value;
        return null;
    }

    /// <summary>utime + stime from /proc/pid/stat: fields 14 and 15, counted after the command name, which may hold spaces.</summary>
    private static long? CpuTicks(int pid) =>
        StatFields(pid) is { Length: > 12 } f
        && long.TryParse(f[11], CultureInfo.InvariantCulture, out var user) && long.TryParse(f[12], CultureInfo.InvariantCulture, out var system)
            ? user + system
            : null;

    private static int? ParentOf(int pid) =>
        StatFields(pid) is { Length: > 1 } f && int.TryParse(f[1], CultureInfo.InvariantCulture, out var parent) ? parent : null;

    /// <summary>The fields of /proc/pid/stat from the third (state) on.</summary>
    private static string[]? StatFields(int pid)
    {
        var stat = Read($"/proc/{pid}/stat");
        var close = stat?.LastIndexOf(')') ?? -1;
        return close < 0 ? null : stat![(close + 1)..].Trim().Split(' ');
    }

    /// <summary>A /proc file, or null where the process is gone or the file is not ours to read.</summary>
    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
