namespace Tally.Testing;

/// <summary>Waits on a condition with a deadline instead of sleeping a fixed time.</summary>
public static class Eventually
{
    public static async Task<T> WaitFor<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        Exception? lastError = null;
        while (true)
        {
            try
            {
                last = await probe();
                if (done(last)) return last;
            }
            catch (Exception ex)
            {
                lastError = ex;
                last = default!;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0}s waiting for {what}; last value: {Describe(last)}", lastError);
            await Task.Delay(100);
        }
    }

    private static string Describe(object? value) => value is System.Collections.IEnumerable items and not string
        ? "[" + string.Join("; ", items.Cast<object?>().Take(15)) + "]"
        : value?.ToString() ?? "null";
}
