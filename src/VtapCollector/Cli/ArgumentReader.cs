using System.Globalization;

namespace VtapCollector.Cli;

/// <summary>
/// Walks command-line arguments and turns mistakes into one sentence that says what to fix.
/// Hand-written: the grammar is small, and startup time matters for a command used in pipes.
/// </summary>
internal sealed class ArgumentReader
{
    private readonly string[] _args;
    private int _index;

    public ArgumentReader(string[] args, int start)
    {
        _args = args;
        _index = start;
    }

    public bool TryNext(out string argument)
    {
        if (_index < _args.Length)
        {
            argument = _args[_index++];
            return true;
        }

        argument = string.Empty;
        return false;
    }

    public string Value(string option)
    {
        if (_index >= _args.Length)
        {
            throw new UsageException($"Option {option} needs a value.");
        }

        return _args[_index++];
    }

    public int Int(string option, int min, int max)
    {
        var text = Value(option);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"Option {option} takes a whole number from {min} to {max}; '{text}' is not one.");
        }

        return value;
    }

    public TimeSpan Seconds(string option, double min, double max)
    {
        var text = Value(option);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"Option {option} takes seconds from {min} to {max}; '{text}' is not valid.");
        }

        return TimeSpan.FromSeconds(value);
    }
}

/// <summary>A mistake on the command line; its message is shown as is, and the exit code is 2.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
