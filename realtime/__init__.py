"""The real-time channel: Socket.IO event streaming, windowing and live trust."""
