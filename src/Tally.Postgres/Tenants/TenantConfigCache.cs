using System.Collections.Concurrent;
using System.Text.Json;
using Npgsql;
using Tally.Domain.Boards;
using Tally.Domain.Checkpoints;
using Tally.Domain.Config;
using Tally.Domain.Time;

namespace Tally.Postgres.Tenants;

/// <summary>
/// Process-wide cache of parsed tenant configs. An entry is reloaded when a caller needs a newer
/// version than it holds (calls carry the version the API validated against) or when it is older
/// than <see cref="MaxAge"/>, so a config change reaches every process within that time. While
/// PostgreSQL cannot be reached, the entry in hand keeps serving.
/// </summary>
internal sealed class TenantConfigCache(TenantStore store, TimeProvider clock)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, LoadedTenant> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<(StoredTenant?, DateTimeOffset)>> _reads = new(StringComparer.Ordinal);

    public async ValueTask<LoadedTenant?> GetAsync(string tenantId, long minVersion = 0, CancellationToken ct = default)
    {
        if (_entries.TryGetValue(tenantId, out var cached) && cached.Version >= minVersion && clock.GetUtcNow() - cached.LoadedAt < MaxAge)
            return cached;
        StoredTenant? stored;
        DateTimeOffset readAt;
        try
        {
            (stored, readAt) = await ReadOnceAsync(tenantId).WaitAsync(ct);
            // A read this call joined may have begun before the version the caller knows of was written: read again, alone.
            if (stored is not null && stored.Version < minVersion)
            {
                readAt = clock.GetUtcNow();
                stored = await store.GetAsync(tenantId, ct);
            }
        }
        catch (Exception ex) when (cached is not null && cached.Version >= minVersion && ex is NpgsqlException or TimeoutException)
        {
            // PostgreSQL is away: a config cannot change meanwhile (changes are written there), so the
            // one in hand is still current. Reads that memory can answer go on being answered.
            return cached;
        }
        if (stored is null)
        {
            _entries.TryRemove(tenantId, out _);
            return null;
        }
        // Dated from when its read began, and never over a newer entry (Remember, or a read that began later and
        // ended first): "every process has this config within MaxAge" holds however long a read takes.
        return Keep(Parse(stored, readAt));
    }

    /// <summary>Stores an entry unless the cache holds a newer version; returns the one kept.</summary>
    private LoadedTenant Keep(LoadedTenant loaded) =>
        _entries.AddOrUpdate(loaded.TenantId, loaded, (_, current) => current.Version > loaded.Version ? current : loaded);

    /// <summary>One read of a tenant's row at a time per tenant: callers that find its entry expired together share it.</summary>
    private Task<(StoredTenant? Stored, DateTimeOffset ReadAt)> ReadOnceAsync(string tenantId)
    {
        while (true)
        {
            if (_reads.TryGetValue(tenantId, out var running)) return running;
            var read = new TaskCompletionSource<(StoredTenant?, DateTimeOffset)>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_reads.TryAdd(tenantId, read.Task)) continue;
            _ = ReadAsync(tenantId, read);
            return read.Task;
        }
    }

    private async Task ReadAsync(string tenantId, TaskCompletionSource<(StoredTenant?, DateTimeOffset)> read)
    {
        try
        {
            var at = clock.GetUtcNow();
            var stored = await store.GetAsync(tenantId, CancellationToken.None).ConfigureAwait(false);
            _reads.TryRemove(new KeyValuePair<string, Task<(StoredTenant?, DateTimeOffset)>>(tenantId, read.Task));
            read.SetResult((stored, at));
        }
        catch (Exception ex)
        {
            _reads.TryRemove(new KeyValuePair<string, Task<(StoredTenant?, DateTimeOffset)>>(tenantId, read.Task));
            read.SetException(ex);
        }
    }

    /// <summary>Drops a tenant's entry, so the next read goes to PostgreSQL (a removal began or ended here).</summary>
    public void Forget(string tenantId) => _entries.TryRemove(tenantId, out _);

    /// <summary>Puts a just-written config in the cache so this process sees it at once (never over a newer one).</summary>
    public LoadedTenant Remember(StoredTenant stored)
    {
        return Keep(Parse(stored, clock.GetUtcNow()));
    }

    /// <summary>
    /// The entry in hand, whatever its age, without waiting for PostgreSQL: for callers that hold a config already and
    /// only want a newer one when there is one. An entry older than <see cref="MaxAge"/> (or none) starts a read in the
    /// background, shared with any other, whose result the next caller gets.
    /// </summary>
    public LoadedTenant? Peek(string tenantId)
    {
        if (_entries.TryGetValue(tenantId, out var cached) && clock.GetUtcNow() - cached.LoadedAt < MaxAge) return cached;
        _ = RefreshInBackgroundAsync(tenantId);
        return cached;
    }

    private async Task RefreshInBackgroundAsync(string tenantId)
    {
        try
        {
            await GetAsync(tenantId).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The next caller starts another; a caller that must have the config reads it through GetAsync.
        }
    }

    /// <summary>A stored config (written by this server, so parsed leniently), or null if it cannot be read.</summary>
    public static TenantConfig? TryParseStored(string configJson)
    {
        try
        {
            return JsonSerializer.Deserialize<TenantConfig>(configJson);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static LoadedTenant Parse(StoredTenant stored, DateTimeOffset now)
    {
        var config = JsonSerializer.Deserialize<TenantConfig>(stored.ConfigJson)
                     ?? throw new InvalidDataException($"Tenant '{stored.TenantId}' has an empty config.");
        return LoadedTenant.From(stored.TenantId, config, stored.Version, now, stored.CheckpointEra, stored.RemovingSince);
    }
}
