"""The conversations themselves: writes (services), reads (selectors), their JSON shapes and exports."""
