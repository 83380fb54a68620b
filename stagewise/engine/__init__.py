"""The offline engine: runs a Pulumi program against recording mocks and finds the project."""
