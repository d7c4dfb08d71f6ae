using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Tally.Postgres.Changes;

/// <summary>
/// Wakes whoever waits for a tenant's next change (a long-polling <c>GET /v1/changes?wait=</c>, a webhook's delivery
/// loop): one connection per process listens on the channel <c>tally_changes</c>, which every transaction that records
/// changes notifies at commit with the tenant id. A wait also ends at its timeout, so a notification lost while the
/// connection was down costs at most one interval; waiters always read the feed again, never trust the signal alone.
/// </summary>
internal sealed class ChangeNotifications(NpgsqlDataSource dataSource, ILogger<ChangeNotifications> logger) : BackgroundService
{
    private const string Channel = "tally_changes";
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>A task that completes at the next change of <paramref name="tenantId"/> committed from now on. Take it before
    /// reading the feed: a change committed between the read and the wait then still ends the wait.</summary>
    public Task NextChange(string tenantId) =>
        _waiting.GetOrAdd(tenantId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (_waiting.TryRemove(e.Payload, out var signal)) signal.TrySetResult();
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection)) await listen.ExecuteNonQueryAsync(stoppingToken);
                while (!stoppingToken.IsCancellationRequested) await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Listening for changes failed ({Error}); waiters fall back to their timeouts; listening again in 1 s.", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { });
            }
        }
    }
}
