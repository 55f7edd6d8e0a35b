using System.Collections.Concurrent;
using Hive.Host.Auth;
using Microsoft.Extensions.Logging;

namespace Hive.Testing;

public sealed record LogLine(string Category, LogLevel Level, string Text);

/// <summary>
/// Every log line a host writes (message, exception and structured values), captured through a logger provider so
/// tests can read the sign-in link the way a person reads it, and check that the token is in no other line.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    public const string SignInPrefix = "Sign in to the dashboard: ";
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    /// <summary>The sign-in lines logged so far (one per start of the host).</summary>
    public IReadOnlyList<string> SignInLines =>
        Lines.Where(l => l.Category == OperatorAuth.SignInCategory && l.Text.StartsWith(SignInPrefix, StringComparison.Ordinal))
            .Select(l => l.Text.Split('\n')[0].Trim())
            .ToList();

    /// <summary>
    /// Throws when the token is in any line logged so far. A host prints its sign-in link only when its standard output is
    /// a terminal, and a test's never is: the link is in <c>&lt;DataDir&gt;/sign-in-link</c>, the token in no log line.
    /// </summary>
    public void AssertTokenInNoLine(string token)
    {
        var leaks = Lines.Where(l => l.Text.Contains(token, StringComparison.Ordinal)).ToList();
        if (leaks.Count > 0)
            throw new InvalidOperationException("the operator token is in these log lines:\n" + string.Join("\n", leaks.Select(l => $"{l.Category}: {l.Text}")));
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception);
            // Structured values too: a sink that writes JSON would write them even where the message template does not.
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
                text += "\n" + string.Join("\n", values.Select(v => $"{v.Key}={v.Value}"));
            if (exception is not null) text += "\n" + exception;
            capture._lines.Enqueue(new LogLine(category, logLevel, text));
        }
    }
}
